"""The channel's witness script and the output scripts built from keys."""

from embit import hashes

OP_2 = 0x52
OP_CHECKMULTISIG = 0xAE


def witness_script(k1: bytes, k2: bytes) -> bytes:
    """`OP_2 <K1> <K2> OP_2 OP_CHECKMULTISIG`, the viewer's key first (§2)."""
    return bytes([OP_2, 33]) + k1 + bytes([33]) + k2 + bytes([OP_2, OP_CHECKMULTISIG])


def p2wsh(script: bytes) -> bytes:
    return b"\x00\x20" + hashes.sha256(script)


def p2wpkh(pubkey: bytes) -> bytes:
    return b"\x00\x14" + hashes.hash160(pubkey)


def p2wpkh_script_code(pubkey: bytes) -> bytes:
    """BIP143 scriptCode for spending P2WPKH: the P2PKH script of the key."""
    return b"\x76\xa9\x14" + hashes.hash160(pubkey) + b"\x88\xac"
