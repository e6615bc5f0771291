"""Keys and ECDSA signatures, checked as strictly as Bitcoin Core's standardness rules.

The DER and low-S checks are done here, not left to the secp256k1 backend, because
the browser verifies with embit's pure-Python fallback or with libsecp256k1 in wasm
(app/ui/secp256k1_wasm.py) and must judge signatures exactly like CPython with
libsecp256k1 does.
"""

import functools

from embit import ec

from .errors import ProtocolError

SIGHASH_ALL = 1
_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def private_key(secret: bytes) -> ec.PrivateKey:
    """A private key from 32 secret bytes (raises ValueError if out of range)."""
    try:
        return ec.PrivateKey(bytes(secret))
    except Exception as e:
        raise ValueError(f"invalid secret key: {e}")


def new_secret(randbytes) -> bytes:
    """32 bytes from `randbytes(n)` that make a valid key (the caller owns the entropy)."""
    while True:
        secret = randbytes(32)
        try:
            private_key(secret)
            return secret
        except ValueError:
            continue


def public_key(data: bytes, code: str) -> ec.PublicKey:
    """A 33-byte compressed key on the curve, else ProtocolError(code)."""
    if len(data) != 33 or data[0] not in (2, 3):
        raise ProtocolError(code, "public key must be 33-byte compressed")
    try:
        return _parse_point(bytes(data))
    except Exception:
        raise ProtocolError(code, "public key is not on the curve")


@functools.lru_cache(maxsize=256)
def _parse_point(data: bytes) -> ec.PublicKey:
    """Parsed once per key: a channel checks every `pay` against the same K1, and
    decompressing it is a modular square root in pure Python. Callers share the
    object and must not change it."""
    return ec.PublicKey.parse(data)


def _check_der(der: bytes) -> bool:
    """BIP66 strict DER (IsValidSignatureEncoding without the sighash byte) and low S."""
    n = len(der)
    if n < 8 or n > 72 or der[0] != 0x30 or der[1] != n - 2 or der[2] != 0x02:
        return False
    len_r = der[3]
    if len_r == 0 or 6 + len_r > n or der[4 + len_r] != 0x02:
        return False
    len_s = der[5 + len_r]
    if len_s == 0 or 6 + len_r + len_s != n:
        return False
    r, s = der[4 : 4 + len_r], der[6 + len_r :]
    for part in (r, s):
        if part[0] & 0x80 or (len(part) > 1 and part[0] == 0 and not part[1] & 0x80):
            return False
    s_value = int.from_bytes(s, "big")
    return 0 < s_value <= _ORDER // 2


def parse_signature(sig: bytes, code: str, sighash: bool = True) -> ec.Signature:
    """A low-S strict-DER signature, with a trailing SIGHASH_ALL byte if `sighash`."""
    if sighash:
        if not sig or sig[-1] != SIGHASH_ALL:
            raise ProtocolError(code, "signature must end with sighash type 01")
        sig = sig[:-1]
    if not _check_der(sig):
        raise ProtocolError(code, "signature is not low-S strict DER")
    try:
        return ec.Signature.parse(sig)
    except Exception:
        raise ProtocolError(code, "signature values out of range")


def sign(key: ec.PrivateKey, digest: bytes, sighash: bool = True) -> bytes:
    """Deterministic (RFC 6979) low-S DER signature, plus 01 if `sighash`.

    No low-R grinding: fees are computed with 73-byte signatures anyway, and each
    grind is another ~3 ms signature in the browser.
    """
    der = key.sign(digest, grind=False).serialize()
    return der + bytes([SIGHASH_ALL]) if sighash else der


def verify(pub: ec.PublicKey, sig: bytes, digest: bytes, code: str, sighash: bool = True) -> None:
    """Raise ProtocolError(code) unless `sig` is a valid strict signature of `digest` by `pub`."""
    if not pub.verify(parse_signature(sig, code, sighash), digest):
        raise ProtocolError(code, "signature does not verify")
