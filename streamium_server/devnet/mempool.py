"""Unconfirmed transactions and the rules a tx must pass before the devnet
holds it, so that an app developer hears "why not" at broadcast time, in
words, instead of a block silently failing later. Script validity is the
kernel's call; the rest mirrors Bitcoin Core's mempool checks that matter
for payment channels (inputs, maturity, locktimes, fees)."""

from dataclasses import dataclass

from embit.transaction import Transaction

from . import block
from .chain import Coin, KernelChain, ScriptRejected
from .index import Index

MAX_MONEY = 21_000_000 * block.COIN
MAX_TX_WEIGHT = 400_000  # 100 kvB, Core's standardness limit
COINBASE_MATURITY = 100
LOCKTIME_THRESHOLD = 500_000_000
SEQUENCE_FINAL = 0xFFFFFFFF
SEQUENCE_DISABLE = 1 << 31
SEQUENCE_TYPE_TIME = 1 << 22
SEQUENCE_MASK = 0xFFFF
MIN_FEERATE = 1  # sat/vB


class TxRejected(Exception):
    """The mempool refused a tx; the message tells a developer why."""


@dataclass(frozen=True)
class Entry:
    txid: str
    tx: Transaction
    raw: bytes
    fee: int
    weight: int
    parents: frozenset[str]  # mempool txids it spends from

    @property
    def vsize(self) -> int:
        return (self.weight + 3) // 4


def decode(raw: bytes) -> Transaction:
    """Parse strictly: the bytes must re-serialise to themselves."""
    try:
        tx = Transaction.parse(raw)
        if tx.serialize() == raw:
            return tx
    except Exception:
        pass
    raise TxRejected("TX decode failed: not a valid serialised transaction")


class Mempool:
    def __init__(self, chain: KernelChain, index: Index):
        self.chain = chain
        self.index = index
        self.entries: dict[str, Entry] = {}
        self.spends: dict[tuple[str, int], tuple[str, int]] = {}  # outpoint -> (txid, vin)

    def coin(self, txid: str, vout: int) -> Coin | None:
        """An output of a mempool tx, as if it confirms in the next block."""
        entry = self.entries.get(txid)
        if entry is None or vout >= len(entry.tx.vout):
            return None
        out = entry.tx.vout[vout]
        return Coin(out.value, out.script_pubkey.data, self.chain.height + 1, False)

    def accept(self, raw: bytes) -> Entry:
        tx = decode(raw)
        entry = self._check(tx, raw)
        self.entries[entry.txid] = entry
        for vin, inp in enumerate(tx.vin):
            self.spends[(inp.txid.hex(), inp.vout)] = (entry.txid, vin)
        return entry

    def _check(self, tx: Transaction, raw: bytes) -> Entry:
        txid = tx.txid().hex()
        tx_weight = block.weight(tx)
        if tx_weight > MAX_TX_WEIGHT:
            raise TxRejected(f"tx-size: weight {tx_weight} exceeds {MAX_TX_WEIGHT} (100 kvB)")
        _check_structure(tx)
        if txid in self.entries:
            raise TxRejected(f"txn-already-in-mempool: {txid}")
        if self.index.tx(txid):
            raise TxRejected(f"txn-already-known: {txid} is already confirmed")
        coins = [self._spendable(i, inp.txid.hex(), inp.vout) for i, inp in enumerate(tx.vin)]
        next_height = self.chain.height + 1
        for i, coin in enumerate(coins):
            if coin.is_coinbase and next_height - coin.height < COINBASE_MATURITY:
                raise TxRejected(
                    f"bad-txns-premature-spend-of-coinbase: input {i} spends a coinbase from height "
                    f"{coin.height}, spendable from height {coin.height + COINBASE_MATURITY} "
                    f"(next block is {next_height})"
                )
        self._check_final(tx)
        self._check_sequence_locks(tx, coins)
        value_in = sum(c.value for c in coins)
        value_out = sum(out.value for out in tx.vout)
        if value_out > value_in:
            raise TxRejected(f"bad-txns-in-belowout: outputs {value_out} sat exceed inputs {value_in} sat")
        fee = value_in - value_out
        vsize = (tx_weight + 3) // 4
        if fee < MIN_FEERATE * vsize:
            raise TxRejected(
                f"min relay fee not met: fee {fee} sat for {vsize} vB is below {MIN_FEERATE} sat/vB "
                f"(needs {MIN_FEERATE * vsize} sat)"
            )
        try:
            self.chain.verify_tx_scripts(raw, [(c.script_pubkey, c.value) for c in coins])
        except ScriptRejected as e:
            raise TxRejected(f"mandatory-script-verify-flag-failed: {e}") from None
        parents = frozenset(inp.txid.hex() for inp in tx.vin if inp.txid.hex() in self.entries)
        return Entry(txid, tx, raw, fee, tx_weight, parents)

    def _spendable(self, i: int, txid: str, vout: int) -> Coin:
        name = f"{txid}:{vout}"
        if (txid, vout) in self.spends:
            spender = self.spends[(txid, vout)][0]
            raise TxRejected(f"txn-mempool-conflict: input {i} spends {name}, already spent by mempool tx {spender}")
        coin = self.chain.coin(txid, vout) or self.coin(txid, vout)
        if coin:
            return coin
        spent = self.index.output(txid, vout)
        if spent and spent.spent_txid:
            raise TxRejected(
                f"bad-txns-inputs-missingorspent: input {i} spends {name}, "
                f"already spent in the chain by {spent.spent_txid}"
            )
        raise TxRejected(f"bad-txns-inputs-missingorspent: input {i} spends {name}, which does not exist")

    def _check_final(self, tx: Transaction) -> None:
        """BIP113 IsFinalTx against the next block's height and the tip's median time past."""
        locktime = tx.locktime
        if locktime == 0 or all(inp.sequence == SEQUENCE_FINAL for inp in tx.vin):
            return
        next_height = self.chain.height + 1
        mtp = self.chain.median_time_past()
        if locktime < LOCKTIME_THRESHOLD:
            if locktime >= next_height:
                raise TxRejected(
                    f"non-final: nLockTime {locktime} is a block height not reached (next block is {next_height})"
                )
        elif locktime >= mtp:
            raise TxRejected(f"non-final: nLockTime {locktime} not reached (median time past {mtp})")

    def _check_sequence_locks(self, tx: Transaction, coins: list[Coin]) -> None:
        """BIP68 relative locks, evaluated for the next block."""
        if tx.version < 2:
            return
        next_height = self.chain.height + 1
        mtp = self.chain.median_time_past()
        for i, (inp, coin) in enumerate(zip(tx.vin, coins)):
            if inp.sequence & SEQUENCE_DISABLE:
                continue
            amount = inp.sequence & SEQUENCE_MASK
            if inp.sequence & SEQUENCE_TYPE_TIME:
                coin_time = self.chain.median_time_past(max(min(coin.height, next_height) - 1, 0))
                unlock = coin_time + (amount << 9)
                if unlock - 1 >= mtp:
                    raise TxRejected(
                        f"non-BIP68-final: input {i} is relative-time-locked until median time past "
                        f"exceeds {unlock - 1} (now {mtp})"
                    )
            elif coin.height + amount - 1 >= next_height:
                raise TxRejected(
                    f"non-BIP68-final: input {i} is relative-height-locked until block "
                    f"{coin.height + amount} (next block is {next_height})"
                )

    def template(self, max_weight: int) -> list[Entry]:
        """Entries for the next block, parents before children, within `max_weight`."""
        chosen, used, skipped = [], 0, set()
        for entry in self.entries.values():
            if entry.parents & skipped or used + entry.weight > max_weight:
                skipped.add(entry.txid)
                continue
            chosen.append(entry)
            used += entry.weight
        return chosen

    def revalidate(self) -> list[tuple[str, str]]:
        """Re-admit every entry against the current chain, dropping those
        (and their descendants) that no longer pass; returns (txid, why) dropped."""
        old = list(self.entries.values())
        self.entries.clear()
        self.spends.clear()
        dropped = []
        for entry in old:
            if self.index.tx(entry.txid):
                continue  # confirmed
            try:
                self.accept(entry.raw)
            except TxRejected as e:
                dropped.append((entry.txid, str(e)))
        return dropped


def _check_structure(tx: Transaction) -> None:
    """Bitcoin Core's CheckTransaction, in words."""
    if not tx.vin:
        raise TxRejected("bad-txns-vin-empty: a transaction needs at least one input")
    if not tx.vout:
        raise TxRejected("bad-txns-vout-empty: a transaction needs at least one output")
    total = 0
    for vout, out in enumerate(tx.vout):
        if out.value > MAX_MONEY:
            raise TxRejected(f"bad-txns-vout-toolarge: output {vout} value {out.value} exceeds 21M BTC")
        total += out.value
    if total > MAX_MONEY:
        raise TxRejected(f"bad-txns-txouttotal-toolarge: outputs total {total} sat exceeds 21M BTC")
    points = [(inp.txid, inp.vout) for inp in tx.vin]
    if len(set(points)) != len(points):
        raise TxRejected("bad-txns-inputs-duplicate: the same output is spent twice")
    if any(txid == bytes(32) and vout == 0xFFFFFFFF for txid, vout in points):
        raise TxRejected("bad-txns-prevout-null: coinbase transactions cannot be broadcast")
