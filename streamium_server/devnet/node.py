"""The devnet as one object: kernel chain, index, mempool, faucet key and
clock offset in one data folder, so a developer's regtest survives restarts
and a test can build a fresh one with `reset=True`."""

import collections
import json
import logging
import os
import shutil
import threading
import time as clock
from pathlib import Path

from embit.networks import NETWORKS
from embit.script import address_to_scriptpubkey

from . import block, policy, script
from .chain import MAX_FUTURE_DRIFT, BlockRejected, KernelChain, MinedBlock
from .index import Index
from .mempool import Mempool, decode
from .policy import TxRejected
from .wallet import Key, Prevout

log = logging.getLogger(__name__)

INITIAL_BLOCKS = 110  # leaves the faucet 10 mature coinbases
MAX_BLOCK_WEIGHT = 3_990_000  # room for the coinbase under 4M
MAX_TIME_OFFSET = MAX_FUTURE_DRIFT - 600
MAX_MINE = 1000
FAUCET_MAX = 10 * block.COIN
DUST = 546
FAUCET_FEERATE = 2  # sat/vB
RECENT_TXS = 10  # electrs' RECENT_TXS_SIZE, for GET /mempool/recent
INDEX_FILES = ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm")
DATA_FILES = ("kernel", "faucet.key", *INDEX_FILES, "mempool.json", "state.json")


class DevnetError(ValueError):
    """A devnet control request that cannot be honoured; the message says why."""


def regtest_script(address: str) -> bytes:
    """scriptPubKey of a regtest address; DevnetError for anything else."""
    try:
        script = address_to_scriptpubkey(address)
        if script.address(NETWORKS["regtest"]) == (address.lower() if address[:4].lower() == "bcrt" else address):
            return script.data
    except Exception:
        pass
    raise DevnetError(f"invalid address: {address[:100]!r} is not a regtest address")


class Devnet:
    def __init__(self, data_dir, *, block_interval: float = 10, reset: bool = False):
        self.dir = Path(data_dir)
        if reset:
            for name in DATA_FILES:
                path = self.dir / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.block_interval = block_interval
        self.lock = threading.RLock()
        self.faucet = self._load_faucet_key()
        self.time_offset = self._load_state().get("time_offset", 0)
        self.chain = KernelChain(self.dir / "kernel")
        self.index = self._open_index()
        self.mempool = Mempool(self.chain, self.index)
        self.recent = collections.deque(maxlen=RECENT_TXS)  # newest first, kept after they leave
        if self.chain.height == 0:
            self.mine(INITIAL_BLOCKS)
        self._restore_mempool()

    # -- data folder -------------------------------------------------------

    def _load_faucet_key(self) -> Key:
        path = self.dir / "faucet.key"
        if path.exists():
            return Key(bytes.fromhex(path.read_text().strip()))
        key = Key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.secret.hex())
        return key

    def _load_state(self) -> dict:
        path = self.dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _save(self) -> None:
        (self.dir / "state.json").write_text(json.dumps({"time_offset": self.time_offset}))
        mempool = [entry.raw.hex() for entry in self.mempool.entries.values()]
        tmp = self.dir / "mempool.json.tmp"
        tmp.write_text(json.dumps(mempool))
        tmp.replace(self.dir / "mempool.json")

    def _open_index(self) -> Index:
        """Open the index, rebuilding it if it disagrees with the kernel, and catch it up."""
        path = self.dir / "index.sqlite"
        index = Index(path)
        top = min(index.height, self.chain.height)
        if index.height > self.chain.height or (top >= 0 and index.block_hash(top) != self.chain.block_hash(top)):
            index.close()
            for name in INDEX_FILES:
                (self.dir / name).unlink(missing_ok=True)
            index = Index(path)
        for height in range(index.height + 1, self.chain.height + 1):
            index.add_block(self.chain.block(height))
        return index

    def _restore_mempool(self) -> None:
        path = self.dir / "mempool.json"
        saved = json.loads(path.read_text()) if path.exists() else []
        for raw in saved:
            try:
                self.mempool.accept(bytes.fromhex(raw))
            except TxRejected as e:
                log.warning("dropped saved mempool tx: %s", e)

    def close(self) -> None:
        with self.lock:
            self._save()
            self.index.close()
            self.chain.close()

    # -- transactions and blocks ----------------------------------------------

    def submit(self, raw: bytes) -> str:
        """sendrawtransaction as Bitcoin Core 28 answers it, at its default maxfeerate and
        maxburnamount: the txid (also for a tx the mempool already has), or TxRejected with
        Core's error code and message. With block_interval 0 the tx is mined at once."""
        tx = decode(raw)
        for out in tx.vout:
            spk = out.script_pubkey.data
            if (script.is_unspendable(spk) or not script.has_valid_ops(spk)) and out.value > 0:
                raise TxRejected("Unspendable output exceeds maximum configured by user (maxburnamount)",
                                 code=policy.RPC_TRANSACTION_ERROR)
        txid = tx.txid().hex()
        with self.lock:
            if any(self.chain.coin(txid, vout) for vout in range(len(tx.vout))):
                raise TxRejected("Transaction outputs already in utxo set", code=policy.RPC_VERIFY_ALREADY_IN_UTXO_SET)
            if txid in self.mempool.entries:
                return txid
            entry = self.mempool.accept(raw, max_fee_rate=policy.MAX_RAW_TX_FEERATE)
            self.recent.appendleft({"txid": txid, "fee": entry.fee, "vsize": entry.weight // 4,  # electrs' rounding
                                    "value": sum(value for _, value in entry.prevouts)})
            self._save()
            if self.block_interval == 0:
                self.mine(1)
            return txid

    def mine(self, blocks: int = 1, advance_s: int = 0) -> list[MinedBlock]:
        """Move the clock `advance_s` forward, then mine `blocks` blocks that
        carry the mempool to the faucet."""
        if not 0 <= blocks <= MAX_MINE:
            raise DevnetError(f"blocks must be between 0 and {MAX_MINE}")
        if advance_s < 0:
            raise DevnetError("advance_s must not be negative: the devnet clock only moves forward")
        with self.lock:
            if self.time_offset + advance_s > MAX_TIME_OFFSET:
                raise DevnetError(
                    f"advance_s {advance_s} would put the clock {self.time_offset + advance_s} s ahead; the "
                    f"kernel refuses blocks over {MAX_FUTURE_DRIFT} s ahead of real time, so at most "
                    f"{MAX_TIME_OFFSET - self.time_offset} s more is possible"
                )
            self.time_offset += advance_s
            mined = [self._mine_one() for _ in range(blocks)]
            self._save()
            return mined

    def _mine_one(self) -> MinedBlock:
        entries = self.mempool.template(MAX_BLOCK_WEIGHT)
        try:
            mined = self._mine_with(entries)
        except BlockRejected as e:
            log.warning("block with mempool txs rejected, revalidating the mempool: %s", e)
            dropped = self.mempool.revalidate()
            if not dropped:  # the kernel disagrees with our checks: do not keep retrying
                dropped = [(txid, str(e)) for txid in self.mempool.entries]
                self.mempool.clear()
            log.warning("dropped from mempool: %s", dropped)
            mined = self._mine_with(self.mempool.template(MAX_BLOCK_WEIGHT))
        self.index.add_block(self.chain.block(mined.height))
        for txid, why in self.mempool.revalidate():
            log.warning("dropped mempool tx %s: %s", txid, why)
        return mined

    def _mine_with(self, entries) -> MinedBlock:
        time = max(int(clock.time()) + self.time_offset, self.chain.median_time_past() + 1)
        return self.chain.mine_block([e.raw for e in entries], self.faucet.script_pubkey, time)

    # -- faucet -------------------------------------------------------------------

    def faucet_coins(self) -> list[Prevout]:
        """The faucet's spendable coins, confirmed ones first (a long chain of unconfirmed
        change would hit Core's 25-ancestor limit): mature chain coins, then its own
        unconfirmed change, minus what the mempool already spends."""
        with self.lock:
            faucet_spk, next_height = self.faucet.script_pubkey, self.chain.height + 1
            confirmed = [
                Prevout(txid, vout, c.value) for (txid, vout), c in self.chain.coins().items()
                if c.script_pubkey == faucet_spk and not (c.is_coinbase and next_height - c.height < 100)
            ]
            unconfirmed = [
                Prevout(e.txid, vout, out.value) for e in self.mempool.entries.values()
                for vout, out in enumerate(e.tx.vout) if out.script_pubkey.data == faucet_spk
            ]
            by_value = sorted(confirmed, key=lambda p: -p.value) + sorted(unconfirmed, key=lambda p: -p.value)
            return [p for p in by_value if (p.txid, p.vout) not in self.mempool.spends]

    def send_from_faucet(self, address: str, amount_sat: int) -> str:
        if not DUST <= amount_sat <= FAUCET_MAX:
            raise DevnetError(f"amount_sat must be between {DUST} and {FAUCET_MAX}")
        destination = regtest_script(address)
        with self.lock:
            chosen, total = [], 0
            for prev in self.faucet_coins():
                chosen.append(prev)
                total += prev.value
                fee = FAUCET_FEERATE * (11 + 68 * len(chosen) + 31 * 2)
                if total >= amount_sat + fee + DUST:
                    break
            else:
                raise DevnetError(f"the faucet has only {total} sat spendable; mine some blocks")
            outputs = [(destination, amount_sat), (self.faucet.script_pubkey, total - amount_sat - fee)]
            try:
                return self.submit(self.faucet.spend(chosen, outputs).serialize())
            except TxRejected as e:
                raise DevnetError(f"the faucet's payment was refused ({e}); mine a block and try again") from None

    def info(self) -> dict:
        with self.lock:
            return {
                "height": self.chain.height,
                "tip_hash": self.chain.tip_hash,
                "time": int(clock.time()) + self.time_offset,
                "time_offset": self.time_offset,
                "median_time_past": self.chain.median_time_past(),
                "block_interval": self.block_interval,
                "faucet_address": self.faucet.address,
                "faucet_balance": sum(p.value for p in self.faucet_coins()),
                "mempool_count": len(self.mempool.entries),
            }

