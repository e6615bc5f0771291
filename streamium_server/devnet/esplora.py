"""Esplora's JSON shapes, field for field as electrs' `src/rest.rs` serialises
them, built from the devnet's index and mempool, so wallets (BDK among them)
and the app read the devnet as they read blockstream.info or mempool.space."""

import struct

from embit import compact
from embit.networks import NETWORKS
from embit.script import Script
from embit.transaction import Transaction

from . import block, script
from .index import Confirmation, scripthash
from .mempool import Entry, is_coinbase
from .node import Devnet

FEE_TARGETS = [*range(1, 26), 144, 504, 1008]  # electrs' CONF_TARGETS
CHAIN_TXS_PER_PAGE = 25
MAX_MEMPOOL_TXS = 50
BLOCK_LIMIT = 10  # blocks per GET /blocks page
VSIZE_BIN_WIDTH = 50_000  # vB per fee histogram bin


def output_json(spk: bytes, value: int) -> dict:
    out = {
        "scriptpubkey": spk.hex(),
        "scriptpubkey_asm": script.script_asm(spk),
        "scriptpubkey_type": script.esplora_type(spk),
    }
    try:
        out["scriptpubkey_address"] = Script(spk).address(NETWORKS["regtest"])
    except Exception:
        pass
    out["value"] = value
    return out


def status_json(conf: Confirmation | None) -> dict:
    if conf is None:
        return {"confirmed": False}
    return {"confirmed": True, "block_height": conf.height, "block_hash": conf.hash, "block_time": conf.time}


def find_tx(devnet: Devnet, txid: str) -> tuple[Transaction, bytes, Confirmation | None] | None:
    entry = devnet.mempool.entries.get(txid)
    if entry:
        return entry.tx, entry.raw, None
    found = devnet.index.tx(txid)
    if found:
        return Transaction.parse(found[0]), found[0], found[1]
    return None


def prevout(devnet: Devnet, txid: str, vout: int) -> tuple[bytes, int] | None:
    out = devnet.index.output(txid, vout)
    if out:
        return out.script, out.value
    coin = devnet.mempool.coin(txid, vout)
    return (coin.script_pubkey, coin.value) if coin else None


def _inner_scripts(inp, spent_spk: bytes) -> dict:
    """electrs' get_innerscripts: the P2SH redeem script and the P2WSH witness script, as asm."""
    inner = {}
    redeem = script.last_push(inp.script_sig.data) if script.solve(spent_spk)[0] == script.P2SH else None
    if redeem is not None:
        inner["inner_redeemscript_asm"] = script.script_asm(redeem)
    wrapped = redeem if redeem is not None else spent_spk
    if script.solve(wrapped)[0] == script.P2WSH and inp.witness.items:
        inner["inner_witnessscript_asm"] = script.script_asm(inp.witness.items[-1])
    return inner


def tx_json(devnet: Devnet, tx: Transaction, raw: bytes, conf: Confirmation | None) -> dict:
    coinbase = is_coinbase(tx)
    vin, value_in = [], 0
    for inp in tx.vin:
        spent = None if coinbase else prevout(devnet, inp.txid.hex(), inp.vout)
        value_in += spent[1] if spent else 0
        item = {
            "txid": inp.txid.hex(),
            "vout": inp.vout,
            "prevout": output_json(*spent) if spent else None,
            "scriptsig": inp.script_sig.data.hex(),
            "scriptsig_asm": script.script_asm(inp.script_sig.data),
        }
        if inp.witness.items:
            item["witness"] = [w.hex() for w in inp.witness.items]
        item["is_coinbase"] = coinbase
        item["sequence"] = inp.sequence
        if spent:
            item.update(_inner_scripts(inp, spent[0]))
        vin.append(item)
    return {
        "txid": tx.txid().hex(),
        "version": tx.version,
        "locktime": tx.locktime,
        "vin": vin,
        "vout": [output_json(out.script_pubkey.data, out.value) for out in tx.vout],
        "size": len(raw),
        "weight": block.weight(tx),
        "fee": 0 if coinbase else value_in - sum(out.value for out in tx.vout),
        "status": status_json(conf),
    }


def txs_json(devnet: Devnet, txids: list[str]) -> list[dict]:
    return [tx_json(devnet, *find_tx(devnet, txid)) for txid in txids]


def spending_json(devnet: Devnet, txid: str, vout: int) -> dict:
    """electrs' SpendingValue: {"spent": false} for an unspent or unknown output."""
    spender = devnet.mempool.spends.get((txid, vout))
    if spender:
        return {"spent": True, "txid": spender[0], "vin": spender[1], "status": {"confirmed": False}}
    out = devnet.index.output(txid, vout)
    if out and out.spent_txid:
        conf = devnet.index.tx(out.spent_txid)[1]
        return {"spent": True, "txid": out.spent_txid, "vin": out.spent_vin, "status": status_json(conf)}
    return {"spent": False}


def outspends_json(devnet: Devnet, txid: str) -> list[dict] | None:
    found = find_tx(devnet, txid)
    if found is None:
        return None
    return [spending_json(devnet, txid, vout) for vout in range(len(found[0].vout))]


# -- addresses and script hashes ---------------------------------------------------------

def _mempool_history(devnet: Devnet, key: bytes):
    """(entry, funded values, spent values) of mempool txs touching the script hash `key`, newest first."""
    for entry in reversed(list(devnet.mempool.entries.values())):
        funded = [out.value for out in entry.tx.vout if scripthash(out.script_pubkey.data) == key]
        spent = [value for spk, value in entry.prevouts if scripthash(spk) == key]
        if funded or spent:
            yield entry, funded, spent


def _stats(funded: list[int], spent: list[int], tx_count: int) -> dict:
    return {
        "funded_txo_count": len(funded),
        "funded_txo_sum": sum(funded),
        "spent_txo_count": len(spent),
        "spent_txo_sum": sum(spent),
        "tx_count": tx_count,
    }


def stats_json(devnet: Devnet, label: str, name: str, key: bytes) -> dict:
    """GET /address/:a or /scripthash/:h; `label` is "address" or "scripthash". electrs builds
    it with serde_json's `json!`, whose map sorts its keys."""
    outputs = devnet.index.outputs_of(key)
    mempool = list(_mempool_history(devnet, key))
    return dict(sorted({
        label: name,
        "chain_stats": _stats([o.value for o in outputs], [o.value for o in outputs if o.spent_txid],
                              len(devnet.index.txids_of(key))),
        "mempool_stats": _stats([v for _, f, _ in mempool for v in f], [v for _, _, s in mempool for v in s],
                                len(mempool)),
    }.items()))


def utxo_json(devnet: Devnet, key: bytes) -> list[dict]:
    """Confirmed outputs not spent in the mempool, then unspent mempool outputs (electrs' order)."""
    utxos = []
    for out in devnet.index.outputs_of(key):
        if not out.spent_txid and (out.txid, out.vout) not in devnet.mempool.spends:
            conf = devnet.index.tx(out.txid)[1]
            utxos.append({"txid": out.txid, "vout": out.vout, "status": status_json(conf), "value": out.value})
    for entry, _, _ in reversed(list(_mempool_history(devnet, key))):
        for vout, out in enumerate(entry.tx.vout):
            if scripthash(out.script_pubkey.data) == key and (entry.txid, vout) not in devnet.mempool.spends:
                utxos.append({"txid": entry.txid, "vout": vout, "status": {"confirmed": False}, "value": out.value})
    return utxos


def mempool_txs_json(devnet: Devnet, key: bytes) -> list[dict]:
    entries = [entry for entry, _, _ in _mempool_history(devnet, key)][:MAX_MEMPOOL_TXS]
    return [tx_json(devnet, e.tx, e.raw, None) for e in entries]


def chain_txs_json(devnet: Devnet, key: bytes, last_seen: str | None = None) -> list[dict]:
    """Up to 25 confirmed txs, newest first, after `last_seen` when given (electrs' paging)."""
    txids = devnet.index.txids_of(key)
    if last_seen is not None:
        txids = txids[txids.index(last_seen) + 1:] if last_seen in txids else []
    return txs_json(devnet, txids[:CHAIN_TXS_PER_PAGE])


def history_json(devnet: Devnet, key: bytes) -> list[dict]:
    """GET .../txs: up to 50 mempool txs, then the first 25 confirmed."""
    return mempool_txs_json(devnet, key) + chain_txs_json(devnet, key)


# -- mempool ------------------------------------------------------------------------------

def electrs_vsize(weight: int) -> int:
    """electrs' TxFeeInfo vsize: weight / 4 rounded down (Core rounds up)."""
    return weight // 4


def f32(value: float) -> float:
    """`value` as an f32, printed as serde_json prints one: the shortest decimal that reads back."""
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        short = float(f"{single:.{digits}g}")
        if struct.unpack("f", struct.pack("f", short))[0] == single:
            return short
    return single


def mempool_json(devnet: Devnet) -> dict:
    """electrs' BacklogStats, with its make_fee_histogram bins (f32 fee rates, vsize rounded down)."""
    entries: list[Entry] = list(devnet.mempool.entries.values())
    rates = sorted(((f32(e.fee / electrs_vsize(e.weight)), electrs_vsize(e.weight)) for e in entries), reverse=True)
    histogram, bin_size, last_rate = [], 0, 0.0
    for rate, size in rates:
        if bin_size > VSIZE_BIN_WIDTH and last_rate != rate:
            histogram.append([last_rate, bin_size])
            bin_size = 0
        last_rate = rate
        bin_size += size
    if bin_size:
        histogram.append([last_rate, bin_size])
    return {
        "count": len(entries),
        "vsize": sum(electrs_vsize(e.weight) for e in entries),
        "total_fee": sum(e.fee for e in entries),
        "fee_histogram": histogram,
    }


def fee_estimates_json() -> dict:
    """Every devnet block has room, so the minimum relay rate confirms in the next one."""
    return {str(target): 1.0 for target in FEE_TARGETS}


# -- blocks --------------------------------------------------------------------------------

def block_json(devnet: Devnet, height: int) -> dict:
    """electrs' BlockValue; `mediantime` tells a wallet when a time lock has passed."""
    chain = devnet.chain
    raw = chain.raw_block(height)
    header = raw[:80]
    txs = chain.block(height).txs
    bits = int.from_bytes(header[72:76], "little")
    return {
        "id": chain.block_hash(height),
        "height": height,
        "version": int.from_bytes(header[:4], "little"),
        "timestamp": chain.block_time(height),
        "tx_count": len(txs),
        "size": len(raw),
        "weight": 4 * 80 + 4 * len(compact.to_bytes(len(txs))) + sum(block.weight(tx) for tx in txs),
        "merkle_root": header[36:68][::-1].hex(),
        "previousblockhash": chain.block_hash(height - 1) if height else None,
        "mediantime": chain.median_time_past(height),
        "nonce": int.from_bytes(header[76:80], "little"),
        "bits": bits,
        "difficulty": 0x00000000FFFF * 2 ** (8 * (0x1D - 3)) / ((bits & 0xFFFFFF) * 2 ** (8 * ((bits >> 24) - 3))),
    }


def blocks_json(devnet: Devnet, start: int) -> list[dict]:
    """GET /blocks[/:start_height]: ten blocks from `start` down."""
    return [block_json(devnet, h) for h in range(start, max(start - BLOCK_LIMIT, -1), -1)]


def block_status_json(devnet: Devnet, block_hash: str) -> dict:
    height = devnet.index.block_height(block_hash)
    if height is None:
        return {"in_best_chain": False, "height": None, "next_best": None}
    following = devnet.chain.block_hash(height + 1) if height < devnet.chain.height else None
    return {"in_best_chain": True, "height": height, "next_best": following}


def block_txids(devnet: Devnet, height: int) -> list[str]:
    return [tx.txid().hex() for tx in devnet.chain.block(height).txs]


def merkle_proof_json(devnet: Devnet, txid: str) -> dict | None:
    """electrum_merkle's branch for a confirmed tx: sibling hashes from the leaf up, as hex txids."""
    found = devnet.index.tx(txid)
    if found is None:
        return None
    height = found[1].height
    level = [bytes.fromhex(t)[::-1] for t in block_txids(devnet, height)]
    pos = index = [t[::-1].hex() for t in level].index(txid)
    branch = []
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        index ^= 1
        branch.append(level[index][::-1].hex())
        index //= 2
        level = [block.sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return {"block_height": height, "merkle": branch, "pos": pos}
