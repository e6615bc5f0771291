"""libsecp256k1, compiled to WebAssembly, behind embit's `ecdsa_verify`.

In Pyodide embit falls back to its pure-Python secp256k1, whose ECDSA verify takes
milliseconds; a broadcaster checks one signature for every `pay` of every viewer.
This loads tiny-secp256k1's WebAssembly build of libsecp256k1 (the library embit uses
natively in CPython) and routes embit's verify through it. Until it has loaded, or if
it cannot load, embit's own code answers: the same answers, slower. Signing stays in
embit. `<body data-secp256k1>` says which one is in use.
"""

import os

import js
from embit.util import secp256k1
from pyodide.ffi import create_proxy, to_js

WASM_URL = "./assets/vendor/tiny-secp256k1/secp256k1.wasm"
STRICT = 1  # refuse high-S, as libsecp256k1's secp256k1_ecdsa_verify does


class WasmVerifyError(Exception):
    """The wasm module refused its input (tiny-secp256k1's throwError)."""


def _random_int32():
    return int.from_bytes(os.urandom(4), "big", signed=True)


def _throw_error(code):
    raise WasmVerifyError(f"tiny-secp256k1 error {code}")


def _reverse64(data: bytes) -> bytes:
    """embit's in-memory (x, y) or (r, s): two little-endian halves -> big-endian."""
    return data[31::-1] + data[:31:-1]


def make_verify(exports):
    """`ecdsa_verify(sig, msg, pub)` with embit's argument formats, computed in wasm."""
    hash_at = exports.HASH_INPUT.value
    key_at = exports.PUBLIC_KEY_INPUT.value
    sig_at = exports.SIGNATURE_INPUT.value

    def ecdsa_verify(sig, msg, pub, context=None):
        if len(sig) != 64 or len(msg) != 32 or len(pub) != 64:
            raise ValueError("signature, message and key must be 64, 32 and 64 bytes")
        heap = js.Uint8Array.new(exports.memory.buffer)
        heap.subarray(hash_at, hash_at + 32).assign(bytes(msg))
        heap.subarray(key_at, key_at + 65).assign(b"\x04" + _reverse64(pub))
        heap.subarray(sig_at, sig_at + 64).assign(_reverse64(sig))
        try:
            return 1 if exports.verify(65, STRICT) == 1 else 0
        except Exception:  # noqa: BLE001  (a refused input never verifies)
            return 0

    return ecdsa_verify


async def install(url=WASM_URL):
    """Load the wasm and route embit's verify through it; keep embit's if anything fails."""
    try:
        imports = to_js({"./rand.js": {"generateInt32": create_proxy(_random_int32)},
                         "./validate_error.js": {"throwError": create_proxy(_throw_error)}},
                        dict_converter=js.Object.fromEntries)
        loaded = await js.WebAssembly.instantiateStreaming(js.fetch(url), imports)
        secp256k1.ecdsa_verify = make_verify(loaded.instance.exports)
        backend = "libsecp256k1"
    except Exception as error:  # noqa: BLE001  (embit's pure-Python verify still works)
        js.console.warn(f"libsecp256k1 wasm not loaded, using embit's pure-Python verify: {error}")
        backend = "embit"
    js.document.body.setAttribute("data-secp256k1", backend)
    return backend
