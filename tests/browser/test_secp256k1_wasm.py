"""The page's wasm libsecp256k1 gives the same verify answers as CPython's native one."""

import hashlib
import json

from embit.ec import PrivateKey
from embit.util import secp256k1 as native

from tests.browser.pyodide import run_python

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

IN_PAGE = '''
import json
from embit.util import py_secp256k1, secp256k1

def answer(verify, sig, msg, pub):
    s = secp256k1.ecdsa_signature_parse_compact(bytes.fromhex(sig))
    p = secp256k1.ec_pubkey_parse(bytes.fromhex(pub))
    return bool(verify(s, bytes.fromhex(msg), p))

cases = json.loads(%r)
result = {"backend": secp256k1.ecdsa_verify.__module__,
          "installed": [answer(secp256k1.ecdsa_verify, *c) for c in cases],
          "python": [answer(py_secp256k1.ecdsa_verify, *c) for c in cases]}
'''


def verify_cases():
    """(compact sig, msg, pubkey) hex triples, good and bad, and libsecp256k1's answers."""
    assert native.ecdsa_verify.__module__ == "embit.util.ctypes_secp256k1"
    cases = []
    for i in range(12):
        key = PrivateKey(hashlib.sha256(b"key %d" % i).digest())
        other = PrivateKey(hashlib.sha256(b"other %d" % i).digest()).get_public_key()
        pub = key.get_public_key()
        msg = hashlib.sha256(b"msg %d" % i).digest()
        compact = native.ecdsa_signature_serialize_compact(key.sign(msg)._sig)
        r, s = int.from_bytes(compact[:32], "big"), int.from_bytes(compact[32:], "big")
        flipped = bytes([msg[0] ^ 1]) + msg[1:]
        for sig, m, p in [
            (compact, msg, pub),                                              # valid
            (compact, flipped, pub),                                          # other message
            (compact, msg, other),                                            # other key
            (r.to_bytes(32, "big") + (ORDER - s).to_bytes(32, "big"), msg, pub),  # high S
            ((r + 1).to_bytes(32, "big") + s.to_bytes(32, "big"), msg, pub),    # other r
            (compact, msg, uncompressed(pub)),                               # same key, 65 bytes
        ]:
            cases.append((sig.hex(), m.hex(), p if isinstance(p, str) else p.sec().hex()))
    expected = [bool(native.ecdsa_verify(native.ecdsa_signature_parse_compact(bytes.fromhex(sig)),
                                         bytes.fromhex(msg), native.ec_pubkey_parse(bytes.fromhex(pub))))
                for sig, msg, pub in cases]
    return cases, expected


def uncompressed(pub):
    """The 65-byte encoding of `pub`, as hex."""
    return native.ec_pubkey_serialize(native.ec_pubkey_parse(pub.sec()), native.EC_UNCOMPRESSED).hex()


def test_wasm_verify_answers_like_native_libsecp256k1_and_embits_python(app_page):
    app_page.wait_for_selector("body[data-secp256k1=libsecp256k1]", timeout=30_000)
    cases, expected = verify_cases()
    assert expected.count(True) == 24 and expected.count(False) == 48
    in_page = run_python(app_page, IN_PAGE % json.dumps(cases))
    assert in_page["backend"] == "app.ui.secp256k1_wasm"
    assert in_page["installed"] == expected
    assert in_page["python"] == expected


def test_a_wasm_that_cannot_load_leaves_embits_python_verify_in_place(app_page):
    app_page.wait_for_selector("body[data-secp256k1=libsecp256k1]", timeout=30_000)
    run_python(app_page, '''
import asyncio
from embit.util import py_secp256k1, secp256k1
from app.ui import boot, secp256k1_wasm
secp256k1.ecdsa_verify = py_secp256k1.ecdsa_verify
boot.BACKGROUND.add(asyncio.ensure_future(secp256k1_wasm.install("./assets/vendor/missing.wasm")))
''')
    app_page.wait_for_selector("body[data-secp256k1=embit]", timeout=30_000)
    cases, expected = verify_cases()
    in_page = run_python(app_page, IN_PAGE % json.dumps(cases))
    assert in_page["backend"] == "embit.util.py_secp256k1"
    assert in_page["installed"] == expected
