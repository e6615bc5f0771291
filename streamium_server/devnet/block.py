"""Regtest block assembly: the few consensus serialisation rules the devnet
needs to make blocks the kernel will accept (BIP34 coinbase height, BIP141
witness commitment, merkle root, proof of work). Validation is never done
here; the kernel decides."""

import hashlib
from dataclasses import dataclass

from embit import compact
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput

REGTEST_BITS = 0x207FFFFF
BLOCK_VERSION = 0x20000000
HALVING_INTERVAL = 150  # regtest
COIN = 100_000_000
WITNESS_RESERVED = bytes(32)
WITNESS_MAGIC = bytes.fromhex("aa21a9ed")


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def block_subsidy(height: int) -> int:
    halvings = height // HALVING_INTERVAL
    return 0 if halvings >= 64 else (50 * COIN) >> halvings


def script_num_push(n: int) -> bytes:
    """`CScript() << n` as Bitcoin Core serialises it; BIP34 compares the
    coinbase scriptSig prefix with exactly these bytes."""
    if n == 0:
        return b"\x00"
    if 1 <= n <= 16:
        return bytes([0x50 + n])
    body = bytearray()
    value = abs(n)
    while value:
        body.append(value & 0xFF)
        value >>= 8
    if body[-1] & 0x80:
        body.append(0x80 if n < 0 else 0)
    elif n < 0:
        body[-1] |= 0x80
    return bytes([len(body)]) + bytes(body)


def merkle_root(hashes: list[bytes]) -> bytes:
    """Merkle root of internal-byte-order hashes, duplicating odd tails."""
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def wtxid(tx: Transaction) -> bytes:
    """Internal byte order, as committed to by BIP141."""
    return sha256d(tx.serialize())


def has_witness(tx: Transaction) -> bool:
    return any(inp.witness.items for inp in tx.vin)


def witness_commitment_script(txs: list[Transaction]) -> bytes:
    """OP_RETURN output committing to the wtxids (the coinbase's counts as zero)."""
    root = merkle_root([bytes(32)] + [wtxid(tx) for tx in txs])
    return b"\x6a\x24" + WITNESS_MAGIC + sha256d(root + WITNESS_RESERVED)


def coinbase(height: int, value: int, script_pubkey: bytes, txs: list[Transaction]) -> Transaction:
    """Coinbase paying `value` to `script_pubkey`, with the BIP34 height and,
    when any tx carries a witness, the BIP141 commitment."""
    script_sig = script_num_push(height) + b"\x00"  # keep scriptSig >= 2 bytes
    commit = any(has_witness(tx) for tx in txs)
    witness = Witness([WITNESS_RESERVED]) if commit else Witness([])
    outputs = [TransactionOutput(value, Script(script_pubkey))]
    if commit:
        outputs.append(TransactionOutput(0, Script(witness_commitment_script(txs))))
    vin = [TransactionInput(bytes(32), 0xFFFFFFFF, Script(script_sig), witness=witness)]
    return Transaction(version=2, vin=vin, vout=outputs, locktime=0)


@dataclass(frozen=True)
class Header:
    version: int
    prev_hash: bytes  # internal byte order
    merkle_root: bytes  # internal byte order
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return (
            self.version.to_bytes(4, "little")
            + self.prev_hash
            + self.merkle_root
            + self.time.to_bytes(4, "little")
            + self.bits.to_bytes(4, "little")
            + self.nonce.to_bytes(4, "little")
        )

    def hash(self) -> bytes:
        return sha256d(self.serialize())


def target(bits: int) -> int:
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    return mantissa << (8 * (exponent - 3))


def grind(header: Header) -> Header:
    """Find a nonce meeting the header's target (about two tries on regtest)."""
    goal = target(header.bits)
    prefix = header.serialize()[:76]
    for nonce in range(2**32):
        raw = prefix + nonce.to_bytes(4, "little")
        if int.from_bytes(sha256d(raw), "little") <= goal:
            return Header(header.version, header.prev_hash, header.merkle_root, header.time, header.bits, nonce)
    raise RuntimeError("no nonce meets the target")


def assemble(prev_hash: bytes, time: int, cb: Transaction, txs: list[Transaction]) -> tuple[Header, bytes]:
    """Header (with proof of work) and serialised block for coinbase + txs."""
    all_txs = [cb] + list(txs)
    root = merkle_root([tx.hash() for tx in all_txs])
    header = grind(Header(BLOCK_VERSION, prev_hash, root, time, REGTEST_BITS, 0))
    body = compact.to_bytes(len(all_txs)) + b"".join(tx.serialize() for tx in all_txs)
    return header, header.serialize() + body


def base_size(tx: Transaction) -> int:
    """Bytes of the serialisation without witness data (what the txid commits to)."""
    total = len(tx.serialize())
    return total - (2 + sum(len(inp.witness.serialize()) for inp in tx.vin) if tx.is_segwit else 0)


def weight(tx: Transaction) -> int:
    """BIP141 weight: non-witness bytes count four times, witness bytes once."""
    total = len(tx.serialize())
    return 3 * base_size(tx) + total


def vsize(tx: Transaction) -> int:
    return (weight(tx) + 3) // 4
