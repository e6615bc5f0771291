"""T1, T2 and T3 exactly as §3 builds them, so both sides get the same bytes.

Fees are always `ceil(fee_rate * vsize)` of the fully signed transaction, with every
signature counted as 73 bytes, so a fee never depends on which signature came out.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence

from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput, SIGHASH

from .addresses import dust
from .errors import ProtocolError
from .script import p2wpkh_script_code
from .signatures import sign

VERSION = 2
SEQUENCE_REFUND = 0xFFFFFFFE
SEQUENCE_FINAL = 0xFFFFFFFF
SIG_SIZE = 73
PUBKEY_SIZE = 33
MAX_MONEY = 21_000_000 * 100_000_000
LOCKTIME_THRESHOLD = 500_000_000


@dataclass(frozen=True)
class Outpoint:
    txid: str  # hex, display (big-endian) order like every txid in the protocol
    vout: int


@dataclass(frozen=True)
class Utxo:
    """A coin: one paying P2WPKH(K1) that the viewer's funding transaction may spend, or any
    the chain API lists (`confirmed` then says whether it is in a block)."""

    txid: str
    vout: int
    value: int
    confirmed: Optional[bool] = None


def _input(outpoint, sequence: int) -> TransactionInput:
    return TransactionInput(bytes.fromhex(outpoint.txid), outpoint.vout, sequence=sequence)


def _output(value: int, script_pubkey: bytes) -> TransactionOutput:
    return TransactionOutput(value, Script(script_pubkey))


def _compact_size(n: int) -> int:
    return 1 if n < 0xFD else 3 if n <= 0xFFFF else 5


def _base_size(tx: Transaction) -> int:
    """Bytes of `tx` without its witnesses."""
    full = tx.serialize()
    return len(full) - (2 + sum(len(i.witness.serialize()) for i in tx.vin) if tx.is_segwit else 0)


def signed_vsize(tx: Transaction, witness_item_sizes: Sequence[int]) -> int:
    """vsize of `tx` once every input carries a witness with items of these sizes."""
    witness = _compact_size(len(witness_item_sizes)) + sum(_compact_size(n) + n for n in witness_item_sizes)
    weight = 4 * _base_size(tx) + 2 + len(tx.vin) * witness
    return -(-weight // 4)


def vsize(tx: Transaction) -> int:
    """vsize of `tx` as it is (BIP141: weight / 4, rounded up), signatures and all."""
    return -(-(3 * _base_size(tx) + len(tx.serialize())) // 4)


def tx_hex(tx: Transaction) -> str:
    return tx.serialize().hex()


def txid(tx: Transaction) -> str:
    return tx.txid().hex()


def parse_tx(hex_text: str, code: str) -> Transaction:
    """A transaction from hex that re-serializes to the very same bytes, else ProtocolError(code)."""
    try:
        raw = bytes.fromhex(hex_text)
        tx = Transaction.parse(raw)
        if tx.serialize() != raw:
            raise ValueError("not canonical")
    except Exception:
        raise ProtocolError(code, "transaction does not parse")
    return tx


# ---- multisig spends (T2, T3) ------------------------------------------------

MULTISIG_WITNESS = (0, SIG_SIZE, SIG_SIZE, 71)  # [<empty>, sig K1, sig K2, witness script]


def multisig_sighash(tx: Transaction, witness_script: bytes, value: int) -> bytes:
    """BIP143 digest of input 0 spending the channel output."""
    return tx.sighash_segwit(0, Script(witness_script), value, SIGHASH.ALL)


def complete_multisig(tx: Transaction, sig1: bytes, sig2: bytes, witness_script: bytes) -> Transaction:
    """Put `[<empty>, sig K1, sig K2, witness script]` on input 0 (the tx is changed in place)."""
    tx.vin[0].witness = Witness([b"", sig1, sig2, witness_script])
    return tx


def refund_tx(funding: Outpoint, value: int, refund_spk: bytes, lock_time: int, fee_rate: int) -> Transaction:
    """T2: the time-locked refund of the whole channel to the viewer, unsigned."""
    tx = Transaction(VERSION, [_input(funding, SEQUENCE_REFUND)], [_output(value, refund_spk)], lock_time)
    tx.vout[0].value = value - fee_rate * signed_vsize(tx, MULTISIG_WITNESS)
    return tx


def refund_fee(refund_spk: bytes, fee_rate: int) -> int:
    """The fee of T2 (it does not depend on the funding outpoint, value or lock time)."""
    tx = refund_tx(Outpoint("00" * 32, 0), MAX_MONEY, refund_spk, LOCKTIME_THRESHOLD, fee_rate)
    return MAX_MONEY - tx.vout[0].value


def close_fee(payout_spk: bytes, change_spk: bytes, fee_rate: int) -> int:
    """The fee of every T3 of the channel: T3 with both outputs, fully signed."""
    dummy = Outpoint("00" * 32, 0)
    tx = Transaction(VERSION, [_input(dummy, SEQUENCE_FINAL)], [_output(0, payout_spk), _output(0, change_spk)], 0)
    return fee_rate * signed_vsize(tx, MULTISIG_WITNESS)


def payment_tx(
    funding: Outpoint, value: int, amount: int, payout_spk: bytes, change_spk: bytes, close_fee: int
) -> Transaction:
    """T3(amount), unsigned; T3(0) is the cooperative refund (no payout output)."""
    outputs = []
    if amount > 0:
        outputs.append(_output(amount, payout_spk))
    change = value - amount - close_fee
    if change >= dust(change_spk):
        outputs.append(_output(change, change_spk))
    return Transaction(VERSION, [_input(funding, SEQUENCE_FINAL)], outputs, 0)


# ---- funding (T1) ------------------------------------------------------------

P2WPKH_WITNESS = (SIG_SIZE, PUBKEY_SIZE)


def _funding_skeleton(utxos: Sequence[Utxo], outputs: List[TransactionOutput]) -> Transaction:
    ordered = sorted(utxos, key=lambda u: (u.txid, u.vout))
    return Transaction(VERSION, [_input(u, SEQUENCE_FINAL) for u in ordered], outputs, 0)


def _funding_fee(utxos, outputs, fee_rate: int) -> int:
    return fee_rate * signed_vsize(_funding_skeleton(utxos, outputs), P2WPKH_WITNESS)


def funding_amount(capacity: int, fee_rate: int) -> int:
    """The exact amount to send to P2WPKH(K1), in one payment, for a channel of `capacity`.

    It is `capacity` plus the fee of a T1 with that one input and the channel output.
    """
    one_coin = [Utxo("00" * 32, 0, 0)]
    any_p2wsh = b"\x00\x20" + bytes(32)
    return capacity + _funding_fee(one_coin, [_output(capacity, any_p2wsh)], fee_rate)


def funding_tx(
    utxos: Sequence[Utxo], channel_spk: bytes, capacity: int, change_spk: bytes, fee_rate: int
) -> Transaction:
    """T1, unsigned: all of `utxos` into output 0 = P2WSH channel of at most `capacity`.

    If the coins fall short, the channel gets what is left after the fee; an excess
    large enough for a non-dust change output after paying for it goes back to
    `change_spk` as output 1; a smaller excess is left to the miners.
    """
    total = sum(u.value for u in utxos)
    channel = [_output(capacity, channel_spk)]
    value = min(capacity, total - _funding_fee(utxos, channel, fee_rate))
    if value <= 0:
        raise ValueError("coins do not cover the funding fee")
    outputs = [_output(value, channel_spk)]
    change = total - value - _funding_fee(utxos, outputs + [_output(0, change_spk)], fee_rate)
    if change >= dust(change_spk):
        outputs.append(_output(change, change_spk))
    return _funding_skeleton(utxos, outputs)


def sign_funding(tx: Transaction, utxos: Sequence[Utxo], key) -> Transaction:
    """Sign every P2WPKH(K1) input of T1 (in place)."""
    pub = key.sec()
    values = {(u.txid, u.vout): u.value for u in utxos}
    code = Script(p2wpkh_script_code(pub))
    for i, inp in enumerate(tx.vin):
        digest = tx.sighash_segwit(i, code, values[(inp.txid.hex(), inp.vout)], SIGHASH.ALL)
        inp.witness = Witness([sign(key, digest), pub])
    return tx
