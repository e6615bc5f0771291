"""Unconfirmed transactions, admitted the way Bitcoin Core 28's MemPoolAccept
admits them: the same checks in the same order with the same reject reasons,
full replace-by-fee (BIP125 rules 2-6 as Core applies them, with every
transaction replaceable) and Core's ancestor and descendant limits with the
CPFP carve-out. A developer hears "why not" at broadcast time instead of a
block failing later. Script validity is the kernel's call."""

import logging
from dataclasses import dataclass

from embit.transaction import Transaction

from . import block, policy
from .chain import Coin, KernelChain, ScriptRejected
from .index import Index
from .policy import TxRejected

log = logging.getLogger(__name__)

MAX_MONEY = 21_000_000 * block.COIN
COINBASE_MATURITY = 100
LOCKTIME_THRESHOLD = 500_000_000
SEQUENCE_FINAL = 0xFFFFFFFF
SEQUENCE_DISABLE = 1 << 31
SEQUENCE_TYPE_TIME = 1 << 22
SEQUENCE_MASK = 0xFFFF
NULL_TXID = bytes(32)
DECODE_FAILED = "TX decode failed. Make sure the tx has at least one input."  # sendrawtransaction's words


@dataclass(frozen=True)
class Entry:
    txid: str
    tx: Transaction
    raw: bytes
    fee: int
    weight: int
    parents: frozenset[str]  # mempool txids it spends from
    prevouts: tuple[tuple[bytes, int], ...]  # (script_pubkey, value) spent by each input

    @property
    def vsize(self) -> int:
        return (self.weight + 3) // 4


@dataclass(frozen=True)
class Limits:
    """Core's CTxMemPool::Limits."""

    ancestor_count: int = policy.ANCESTOR_LIMIT
    ancestor_size: int = policy.ANCESTOR_SIZE_LIMIT
    descendant_count: int = policy.DESCENDANT_LIMIT
    descendant_size: int = policy.DESCENDANT_SIZE_LIMIT


def decode(raw: bytes) -> Transaction:
    """Parse strictly: the bytes must re-serialise to themselves."""
    try:
        tx = Transaction.parse(raw)
        if tx.serialize() == raw:
            return tx
    except Exception:
        pass
    raise TxRejected(DECODE_FAILED, code=policy.RPC_DESERIALIZATION_ERROR)


def core_order(txid: str) -> bytes:
    """The order of Core's sets of txids and entries (uint256 compared as internal bytes), so
    a message naming one of several names the one Core would."""
    return bytes.fromhex(txid)[::-1]


def is_coinbase(tx: Transaction) -> bool:
    return len(tx.vin) == 1 and tx.vin[0].txid == NULL_TXID and tx.vin[0].vout == 0xFFFFFFFF


class Mempool:
    def __init__(self, chain: KernelChain, index: Index):
        self.chain = chain
        self.index = index
        self.entries: dict[str, Entry] = {}
        self.spends: dict[tuple[str, int], tuple[str, int]] = {}  # outpoint -> (txid, vin)
        self.children: dict[str, set[str]] = {}

    def coin(self, txid: str, vout: int) -> Coin | None:
        """An output of a mempool tx, as if it confirms in the next block."""
        entry = self.entries.get(txid)
        if entry is None or vout >= len(entry.tx.vout):
            return None
        out = entry.tx.vout[vout]
        return Coin(out.value, out.script_pubkey.data, self.chain.height + 1, False)

    def descendants(self, txid: str) -> set[str]:
        """`txid` and everything in the mempool that spends from it, directly or not."""
        found, todo = set(), [txid]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self.children.get(current, ()))
        return found

    def accept(self, raw: bytes, max_fee_rate: int | None = None) -> Entry:
        """Admit a tx (TxRejected says why not), evicting what it replaces. A valid tx paying
        more than `max_fee_rate` (sat/kvB) is refused as sendrawtransaction refuses it."""
        tx = decode(raw)
        entry, replaced = self._check(tx, raw)
        if max_fee_rate is not None and entry.fee > policy.fee_at(max_fee_rate, entry.vsize):
            raise TxRejected("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
                             code=policy.RPC_TRANSACTION_ERROR)
        for txid in replaced:
            log.info("mempool: %s replaced by %s", txid, entry.txid)
            self._remove(txid)
        self._add(entry)
        return entry

    def _add(self, entry: Entry) -> None:
        self.entries[entry.txid] = entry
        self.children[entry.txid] = set()
        for vin, inp in enumerate(entry.tx.vin):
            self.spends[(inp.txid.hex(), inp.vout)] = (entry.txid, vin)
        for parent in entry.parents:
            self.children[parent].add(entry.txid)

    def _remove(self, txid: str) -> None:
        entry = self.entries.pop(txid)
        for inp in entry.tx.vin:
            self.spends.pop((inp.txid.hex(), inp.vout), None)
        for parent in entry.parents:
            if parent in self.children:
                self.children[parent].discard(txid)
        self.children.pop(txid, None)

    # -- MemPoolAccept::PreChecks, in Core's order ---------------------------------

    def _check(self, tx: Transaction, raw: bytes) -> tuple[Entry, set[str]]:
        txid = tx.txid().hex()
        _check_transaction(tx)
        if is_coinbase(tx):
            raise TxRejected("coinbase")
        policy.check_standard(tx)
        self._check_final(tx)
        if txid in self.entries:
            same = self.entries[txid].raw == raw
            raise TxRejected("txn-already-in-mempool" if same else "txn-same-nonwitness-data-in-mempool")
        conflicts = {self.spends[(inp.txid.hex(), inp.vout)][0] for inp in tx.vin
                     if (inp.txid.hex(), inp.vout) in self.spends}
        coins = [self._coin_for(i, inp.txid.hex(), inp.vout, tx, txid) for i, inp in enumerate(tx.vin)]
        self._check_sequence_locks(tx, coins)
        fee = self._check_inputs(tx, coins)
        tx_weight = block.weight(tx)
        vsize = (tx_weight + 3) // 4
        floor = policy.fee_at(policy.MIN_RELAY_FEERATE, vsize)
        if fee < floor:
            raise TxRejected("min relay fee not met", f"{fee} < {floor}")
        parents = frozenset(inp.txid.hex() for inp in tx.vin if inp.txid.hex() in self.entries)
        ancestors = self._ancestors_within_limits(parents, vsize, conflicts)
        clash = sorted(ancestors & conflicts, key=core_order)
        if clash:
            raise TxRejected("bad-txns-spends-conflicting-tx", f"{txid} spends conflicting transaction {clash[0]}")
        replaced = self._replacement_checks(tx, txid, fee, vsize, conflicts) if conflicts else set()
        try:
            self.chain.verify_tx_scripts(raw, [(c.script_pubkey, c.value) for c in coins])
        except ScriptRejected as e:
            raise TxRejected(f"mandatory-script-verify-flag-failed ({e})") from None
        prevouts = tuple((c.script_pubkey, c.value) for c in coins)
        return Entry(txid, tx, raw, fee, tx_weight, parents, prevouts), replaced

    def _coin_for(self, i: int, txid: str, vout: int, tx: Transaction, spender: str) -> Coin:
        """The coin input `i` spends, from the chain or the mempool (a conflict may spend it too)."""
        coin = self.chain.coin(txid, vout) or self.coin(txid, vout)
        if coin:
            return coin
        if any(self.chain.coin(spender, n) for n in range(len(tx.vout))):
            raise TxRejected("txn-already-known")
        spent = self.index.output(txid, vout)
        why = (f"input {i} spends {txid}:{vout}, already spent in the chain by {spent.spent_txid}"
               if spent and spent.spent_txid else f"input {i} spends {txid}:{vout}, which does not exist")
        raise TxRejected("bad-txns-inputs-missingorspent", why, policy.RPC_TRANSACTION_ERROR)

    def _check_final(self, tx: Transaction) -> None:
        """BIP113 IsFinalTx against the next block's height and the tip's median time past."""
        locktime = tx.locktime
        if locktime == 0 or all(inp.sequence == SEQUENCE_FINAL for inp in tx.vin):
            return
        next_height = self.chain.height + 1
        mtp = self.chain.median_time_past()
        if locktime < LOCKTIME_THRESHOLD:
            if locktime >= next_height:
                raise TxRejected("non-final", f"nLockTime {locktime} is a block height not reached "
                                              f"(next block is {next_height})")
        elif locktime >= mtp:
            raise TxRejected("non-final", f"nLockTime {locktime} not reached (median time past {mtp}; "
                                          "it must be below it)")

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
                    raise TxRejected("non-BIP68-final", f"input {i} is relative-time-locked until median time "
                                                        f"past exceeds {unlock - 1} (now {mtp})")
            elif coin.height + amount - 1 >= next_height:
                raise TxRejected("non-BIP68-final", f"input {i} is relative-height-locked until block "
                                                    f"{coin.height + amount} (next block is {next_height})")

    def _check_inputs(self, tx: Transaction, coins: list[Coin]) -> int:
        """Consensus::CheckTxInputs for the next block; returns the fee."""
        next_height = self.chain.height + 1
        for coin in coins:
            if coin.is_coinbase and next_height - coin.height < COINBASE_MATURITY:
                raise TxRejected("bad-txns-premature-spend-of-coinbase",
                                 f"tried to spend coinbase at depth {next_height - coin.height}")
        value_in = sum(c.value for c in coins)
        value_out = sum(out.value for out in tx.vout)
        if value_in > MAX_MONEY:
            raise TxRejected("bad-txns-inputvalues-outofrange")
        if value_in < value_out:
            raise TxRejected("bad-txns-in-belowout", f"value in ({policy.format_money(value_in)}) < "
                                                     f"value out ({policy.format_money(value_out)})")
        return value_in - value_out

    # -- chain limits and replacement ---------------------------------------------------

    def _ancestors_within_limits(self, parents: frozenset[str], vsize: int, conflicts: set[str]) -> set[str]:
        """In-mempool ancestors, within Core's limits, else too-long-mempool-chain."""
        limits = Limits()
        if len(conflicts) == 1:  # Core lets a one-for-one replacement through despite the descendant limits
            (conflict,) = conflicts
            extra = sum(self.entries[t].vsize for t in self.descendants(conflict))
            limits = Limits(limits.ancestor_count, limits.ancestor_size,
                            limits.descendant_count + 1, limits.descendant_size + extra)
        ancestors, error = self._ancestors(parents, vsize, limits)
        if error is None:
            return ancestors
        if vsize <= policy.EXTRA_DESCENDANT_TX_SIZE_LIMIT:  # the CPFP carve-out
            carve_out = Limits(2, limits.ancestor_size, limits.descendant_count + 1,
                               limits.descendant_size + policy.EXTRA_DESCENDANT_TX_SIZE_LIMIT)
            ancestors, second = self._ancestors(parents, vsize, carve_out)
            if second is None:
                return ancestors
        raise TxRejected("too-long-mempool-chain", error)

    def _ancestors(self, parents: frozenset[str], vsize: int, limits: Limits) -> tuple[set[str], str | None]:
        """Core's CalculateAncestorsAndCheckLimits: (ancestors, None) or (partial, error)."""
        if len(parents) + 1 > limits.ancestor_count:
            return set(), f"too many unconfirmed parents [limit: {limits.ancestor_count}]"
        ancestors, staged, size = set(), set(parents), vsize
        while staged:
            current = min(staged, key=core_order)
            staged.discard(current)
            ancestors.add(current)
            size += self.entries[current].vsize
            family = self.descendants(current)
            if sum(self.entries[t].vsize for t in family) + vsize > limits.descendant_size:
                return ancestors, f"exceeds descendant size limit for tx {current} [limit: {limits.descendant_size}]"
            if len(family) + 1 > limits.descendant_count:
                return ancestors, f"too many descendants for tx {current} [limit: {limits.descendant_count}]"
            if size > limits.ancestor_size:
                return ancestors, f"exceeds ancestor size limit [limit: {limits.ancestor_size}]"
            for parent in self.entries[current].parents:
                if parent not in ancestors:
                    staged.add(parent)
                if len(staged) + len(ancestors) + 1 > limits.ancestor_count:
                    return ancestors, f"too many unconfirmed ancestors [limit: {limits.ancestor_count}]"
        return ancestors, None

    def _replacement_checks(self, tx: Transaction, txid: str, fee: int, vsize: int, conflicts: set[str]) -> set[str]:
        """MemPoolAccept::ReplacementChecks: BIP125 rules 6, 5, 2, 3 and 4, in Core's order.
        Returns every transaction the replacement evicts."""
        new_rate = policy.feerate_of(fee, vsize)
        for conflict in sorted(conflicts, key=core_order):
            old = self.entries[conflict]
            old_rate = policy.feerate_of(old.fee, old.vsize)
            if new_rate <= old_rate:
                raise TxRejected("insufficient fee", f"rejecting replacement {txid}; new feerate "
                                 f"{policy.format_feerate(new_rate)} <= old feerate {policy.format_feerate(old_rate)}")
        count, evicted = 0, set()
        for conflict in sorted(conflicts, key=core_order):
            family = self.descendants(conflict)
            count += len(family)  # Core's running total, which may count a shared descendant twice
            if count > policy.MAX_REPLACEMENT_CANDIDATES:
                raise TxRejected("too many potential replacements", f"rejecting replacement {txid}; too many "
                                 f"potential replacements ({count} > {policy.MAX_REPLACEMENT_CANDIDATES})")
            evicted |= family
        parents_of_conflicts = {inp.txid.hex() for conflict in conflicts for inp in self.entries[conflict].tx.vin}
        for j, inp in enumerate(tx.vin):
            if inp.txid.hex() not in parents_of_conflicts and inp.txid.hex() in self.entries:
                raise TxRejected("replacement-adds-unconfirmed", f"replacement {txid} adds unconfirmed input, idx {j}")
        old_fees = sum(self.entries[t].fee for t in evicted)
        if fee < old_fees:
            raise TxRejected("insufficient fee", f"rejecting replacement {txid}, less fees than conflicting txs; "
                             f"{policy.format_money(fee)} < {policy.format_money(old_fees)}")
        relay = policy.fee_at(policy.INCREMENTAL_RELAY_FEERATE, vsize)
        if fee - old_fees < relay:
            raise TxRejected("insufficient fee", f"rejecting replacement {txid}, not enough additional fees to "
                             f"relay; {policy.format_money(fee - old_fees)} < {policy.format_money(relay)}")
        return evicted

    # -- blocks ----------------------------------------------------------------------------

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
        self.clear()
        dropped = []
        for entry in old:
            if self.index.tx(entry.txid):
                continue  # confirmed
            try:
                self.accept(entry.raw)
            except TxRejected as e:
                dropped.append((entry.txid, str(e)))
        return dropped

    def clear(self) -> None:
        self.entries.clear()
        self.spends.clear()
        self.children.clear()


def _check_transaction(tx: Transaction) -> None:
    """Bitcoin Core's CheckTransaction."""
    if not tx.vin:
        raise TxRejected("bad-txns-vin-empty")
    if not tx.vout:
        raise TxRejected("bad-txns-vout-empty")
    total = 0
    for out in tx.vout:
        if out.value > MAX_MONEY:
            raise TxRejected("bad-txns-vout-toolarge")
        total += out.value
        if total > MAX_MONEY:
            raise TxRejected("bad-txns-txouttotal-toolarge")
    points = [(inp.txid, inp.vout) for inp in tx.vin]
    if len(set(points)) != len(points):
        raise TxRejected("bad-txns-inputs-duplicate")
    if is_coinbase(tx):
        if not 2 <= len(tx.vin[0].script_sig.data) <= 100:
            raise TxRejected("bad-cb-length")
    elif any(txid == NULL_TXID and vout == 0xFFFFFFFF for txid, vout in points):
        raise TxRejected("bad-txns-prevout-null")
