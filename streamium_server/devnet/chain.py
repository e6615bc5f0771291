"""A regtest chain whose every block is judged by Bitcoin Core's own
consensus code (libbitcoinkernel through py-bitcoinkernel), so what the
devnet accepts is what Bitcoin accepts. The kernel does not expose its UTXO
set, so this module mirrors it (`coin`) from the blocks the kernel connected;
mining needs it for fees and the mempool for prevouts."""

import collections
import re
import threading
import time as clock
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pbk
from embit import compact
from embit.transaction import Transaction

from . import block

OP_TRUE = b"\x51"
MAX_FUTURE_DRIFT = 2 * 60 * 60  # the kernel refuses blocks further ahead of its clock


class BlockRejected(Exception):
    """The kernel refused the block or the tip did not advance; chain unchanged."""


class ScriptRejected(Exception):
    """An input's script failed verification; the message names the input and why."""


@dataclass(frozen=True)
class MinedBlock:
    hash: str  # display (RPC) byte order
    height: int
    time: int
    coinbase_txid: str  # display order
    coinbase_value: int  # sats of the coinbase's first output (subsidy + fees)


@dataclass(frozen=True)
class Coin:
    """An unspent output of the active chain."""

    value: int
    script_pubkey: bytes
    height: int
    is_coinbase: bool


@dataclass(frozen=True)
class ChainBlock:
    """A connected block as read back from the kernel's block store."""

    hash: str
    height: int
    time: int
    txs: list[Transaction]


class _KernelLog:
    """The kernel logs why it refused a block; keep the recent lines to quote."""

    PATTERNS = (
        re.compile(r"Block validation error: (.+)"),
        re.compile(r"ConnectBlock \w+ failed, (.+)"),
        re.compile(r"AcceptBlock FAILED \((.+)\)"),
        re.compile(r"AcceptBlock: (.+)"),
        re.compile(r"CheckBlock\w*: (.+)"),
    )

    def __init__(self):
        self.lines = collections.deque(maxlen=64)
        self.count = 0  # lines ever seen; a mark for `reason`
        self.connection = pbk.LoggingConnection(self._append)

    def _append(self, line: str) -> None:
        self.lines.append(line.strip())
        self.count += 1

    def reason(self, since: int) -> str | None:
        """The refusal reason among the lines logged after mark `since`."""
        recent = list(self.lines)[-(self.count - since):] if self.count > since else []
        for pattern in self.PATTERNS:
            for line in recent:
                found = pattern.search(line)
                if found:
                    return found.group(1)
        return None


_log: _KernelLog | None = None


def _kernel_log() -> _KernelLog:
    global _log
    if _log is None:
        _log = _KernelLog()
    return _log


def outpoint(txid: str, vout: int) -> tuple[str, int]:
    return (txid, vout)


def parse_block_txs(raw: bytes) -> list[Transaction]:
    stream = BytesIO(raw[80:])
    return [Transaction.read_from(stream) for _ in range(compact.read_from(stream))]


class KernelChain:
    def __init__(self, data_dir):
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log = _kernel_log()
        self._lock = threading.RLock()
        self._last_result = None
        callbacks = pbk.ValidationInterfaceCallbacks(block_checked=self._on_block_checked)
        context = pbk.make_context(pbk.ChainType.REGTEST, validation_callbacks=callbacks)
        options = pbk.ChainstateManagerOptions(
            context, str(data_dir.absolute()), str((data_dir / "blocks").absolute())
        )
        self._chainman = pbk.ChainstateManager(options)
        self._coins: dict[tuple[str, int], Coin] = {}
        for height in range(1, self.height + 1):
            self._connect(self.block(height))

    def _on_block_checked(self, user_data, blk, state):
        self._last_result = state.block_validation_result

    def _entry(self, height: int | None = None):
        chain = self._chainman.get_active_chain()
        return chain.block_tree_entries[chain.height if height is None else height]

    @property
    def height(self) -> int:
        return self._chainman.get_active_chain().height

    @property
    def tip_hash(self) -> str:
        return str(self._entry().block_hash)

    def block_hash(self, height: int) -> str:
        return str(self._entry(height).block_hash)

    def block_time(self, height: int) -> int:
        return int(self._entry(height).block_header.timestamp.timestamp())

    def tip_time(self) -> int:
        return self.block_time(self.height)

    def median_time_past(self, height: int | None = None) -> int:
        """BIP113 median of the 11 block times ending at `height` (default: tip)."""
        height = self.height if height is None else height
        times = sorted(self.block_time(h) for h in range(max(0, height - 10), height + 1))
        return times[len(times) // 2]  # as Core's GetMedianTimePast picks it

    def raw_block(self, height: int) -> bytes:
        return bytes(self._chainman.blocks[self._entry(height)])

    def block(self, height: int) -> ChainBlock:
        return ChainBlock(self.block_hash(height), height, self.block_time(height),
                          parse_block_txs(self.raw_block(height)))

    def coin(self, txid: str, vout: int) -> Coin | None:
        return self._coins.get(outpoint(txid, vout))

    def coins(self) -> dict[tuple[str, int], Coin]:
        """A copy of the UTXO set: outpoint (txid, vout) -> Coin."""
        with self._lock:
            return dict(self._coins)

    def verify_tx_scripts(self, tx: bytes, spent_outputs: list[tuple[bytes, int]]) -> None:
        """Verify every input with all consensus script flags; `spent_outputs`
        holds (script_pubkey, value) for each input, in input order."""
        try:
            kernel_tx = pbk.Transaction(tx)
        except (RuntimeError, ValueError) as e:
            raise ScriptRejected(f"transaction does not decode: {e}") from None
        if len(spent_outputs) != len(kernel_tx.inputs):
            raise ValueError(
                f"{len(kernel_tx.inputs)} inputs but {len(spent_outputs)} spent outputs given"
            )
        outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(s), v) for s, v in spent_outputs]
        precomputed = pbk.script.PrecomputedTransactionData(kernel_tx, outputs)
        flags = pbk.ScriptVerificationFlags.ALL
        for index, (script, value) in enumerate(spent_outputs):
            if not self._verify(script, value, kernel_tx, precomputed, index, flags):
                raise ScriptRejected(
                    f"input {index}: script verification failed "
                    f"({_failing_rules(self._verify, script, value, kernel_tx, precomputed, index)})"
                )

    @staticmethod
    def _verify(script, value, kernel_tx, precomputed, index, flags) -> bool:
        try:
            return pbk.ScriptPubkey(script).verify(value, kernel_tx, precomputed, index, flags)
        except pbk.ScriptVerifyException:
            return False

    def mine_block(self, txs=(), coinbase_script: bytes = OP_TRUE, time: int | None = None) -> MinedBlock:
        """Build a block on the tip from raw `txs` and have the kernel connect it."""
        with self._lock:
            try:
                parsed = [Transaction.parse(bytes(raw)) for raw in txs]
            except Exception as e:
                raise BlockRejected(f"transaction does not decode: {e}") from None
            height = self.height + 1
            mtp = self.median_time_past()
            if time is None:
                time = max(int(clock.time()), mtp + 1)
            elif time <= mtp:
                raise BlockRejected(f"time-too-old: block time {time} not above median time past {mtp}")
            value = block.block_subsidy(height) + self._fees(parsed)
            cb = block.coinbase(height, max(value, 0), coinbase_script, parsed)
            header, raw = block.assemble(bytes.fromhex(self.tip_hash)[::-1], time, cb, parsed)
            new_hash = header.hash()[::-1].hex()
            since = self._log.count
            self._last_result = None
            try:
                self._chainman.process_block(pbk.Block(raw))
            except pbk.ProcessBlockException:
                pass
            if self.height != height or self.tip_hash != new_hash:
                reason = self._log.reason(since) or (
                    self._last_result.name.lower() if self._last_result else "unknown reason"
                )
                raise BlockRejected(f"kernel rejected block at height {height}: {reason}")
            self._connect(ChainBlock(new_hash, height, time, [cb] + parsed))
            return MinedBlock(new_hash, height, time, cb.txid().hex(), cb.vout[0].value)

    def _fees(self, txs: list[Transaction]) -> int:
        """Fees of `txs`, counting inputs from the UTXO set or earlier txs in
        the list; unknown inputs count as zero and are left to the kernel."""
        made = {}
        total = 0
        for tx in txs:
            txid = tx.txid().hex()
            spent = 0
            for inp in tx.vin:
                point = outpoint(inp.txid.hex(), inp.vout)
                coin = made.get(point) or self._coins.get(point)
                spent += coin.value if coin else 0
            total += spent - sum(out.value for out in tx.vout)
            for vout, out in enumerate(tx.vout):
                made[outpoint(txid, vout)] = Coin(out.value, out.script_pubkey.data, 0, False)
        return total

    def _connect(self, blk: ChainBlock) -> None:
        for position, tx in enumerate(blk.txs):
            txid = tx.txid().hex()
            if position:
                for inp in tx.vin:
                    self._coins.pop(outpoint(inp.txid.hex(), inp.vout), None)
            for vout, out in enumerate(tx.vout):
                if not out.script_pubkey.data.startswith(b"\x6a"):
                    self._coins[outpoint(txid, vout)] = Coin(
                        out.value, out.script_pubkey.data, blk.height, position == 0
                    )

    def close(self) -> None:
        with self._lock:
            if self._chainman is not None:
                self._chainman.__exit__(None, None, None)
                self._chainman = None


def _failing_rules(verify, script, value, kernel_tx, precomputed, index) -> str:
    """The kernel only says pass/fail; re-run with rule sets added one at a
    time to say which layer fails."""
    f = pbk.ScriptVerificationFlags
    stages = (
        (f.NONE, "the script evaluates to false: wrong signature, key or script"),
        (f.P2SH, "the P2SH redeem script fails"),
        (f.P2SH | f.WITNESS, "the segwit v0 witness fails: bad signature, wrong key or witness"),
        (f.P2SH | f.WITNESS | f.TAPROOT, "the taproot witness fails: bad signature or wrong script path"),
    )
    for flags, why in stages:
        if not verify(script, value, kernel_tx, precomputed, index, flags):
            return why
    return "a strictness rule fails: DER encoding, NULLDUMMY, CHECKLOCKTIMEVERIFY or CHECKSEQUENCEVERIFY"
