"""Esplora's JSON shapes (Blockstream electrs REST) built from the devnet's
index and mempool, so wallets and the app talk to the devnet exactly as they
would to blockstream.info or mempool.space."""

from embit.networks import NETWORKS
from embit.script import Script
from embit.transaction import Transaction

from . import block
from .index import Confirmation
from .node import Devnet

OPCODES = {
    0x00: "OP_0", 0x4C: "OP_PUSHDATA1", 0x4D: "OP_PUSHDATA2", 0x4E: "OP_PUSHDATA4",
    0x4F: "OP_PUSHNUM_NEG1", 0x50: "OP_RESERVED", 0x61: "OP_NOP", 0x62: "OP_VER", 0x63: "OP_IF",
    0x64: "OP_NOTIF", 0x65: "OP_VERIF", 0x66: "OP_VERNOTIF", 0x67: "OP_ELSE", 0x68: "OP_ENDIF",
    0x69: "OP_VERIFY", 0x6A: "OP_RETURN", 0x6B: "OP_TOALTSTACK", 0x6C: "OP_FROMALTSTACK",
    0x6D: "OP_2DROP", 0x6E: "OP_2DUP", 0x6F: "OP_3DUP", 0x70: "OP_2OVER", 0x71: "OP_2ROT",
    0x72: "OP_2SWAP", 0x73: "OP_IFDUP", 0x74: "OP_DEPTH", 0x75: "OP_DROP", 0x76: "OP_DUP",
    0x77: "OP_NIP", 0x78: "OP_OVER", 0x79: "OP_PICK", 0x7A: "OP_ROLL", 0x7B: "OP_ROT",
    0x7C: "OP_SWAP", 0x7D: "OP_TUCK", 0x7E: "OP_CAT", 0x7F: "OP_SUBSTR", 0x80: "OP_LEFT",
    0x81: "OP_RIGHT", 0x82: "OP_SIZE", 0x83: "OP_INVERT", 0x84: "OP_AND", 0x85: "OP_OR",
    0x86: "OP_XOR", 0x87: "OP_EQUAL", 0x88: "OP_EQUALVERIFY", 0x89: "OP_RESERVED1",
    0x8A: "OP_RESERVED2", 0x8B: "OP_1ADD", 0x8C: "OP_1SUB", 0x8D: "OP_2MUL", 0x8E: "OP_2DIV",
    0x8F: "OP_NEGATE", 0x90: "OP_ABS", 0x91: "OP_NOT", 0x92: "OP_0NOTEQUAL", 0x93: "OP_ADD",
    0x94: "OP_SUB", 0x95: "OP_MUL", 0x96: "OP_DIV", 0x97: "OP_MOD", 0x98: "OP_LSHIFT",
    0x99: "OP_RSHIFT", 0x9A: "OP_BOOLAND", 0x9B: "OP_BOOLOR", 0x9C: "OP_NUMEQUAL",
    0x9D: "OP_NUMEQUALVERIFY", 0x9E: "OP_NUMNOTEQUAL", 0x9F: "OP_LESSTHAN", 0xA0: "OP_GREATERTHAN",
    0xA1: "OP_LESSTHANOREQUAL", 0xA2: "OP_GREATERTHANOREQUAL", 0xA3: "OP_MIN", 0xA4: "OP_MAX",
    0xA5: "OP_WITHIN", 0xA6: "OP_RIPEMD160", 0xA7: "OP_SHA1", 0xA8: "OP_SHA256", 0xA9: "OP_HASH160",
    0xAA: "OP_HASH256", 0xAB: "OP_CODESEPARATOR", 0xAC: "OP_CHECKSIG", 0xAD: "OP_CHECKSIGVERIFY",
    0xAE: "OP_CHECKMULTISIG", 0xAF: "OP_CHECKMULTISIGVERIFY", 0xB0: "OP_NOP1", 0xB1: "OP_CLTV",
    0xB2: "OP_CSV", 0xBA: "OP_CHECKSIGADD", 0xFF: "OP_INVALIDOPCODE",
}
OPCODES.update({0x50 + n: f"OP_PUSHNUM_{n}" for n in range(1, 17)})
OPCODES.update({0xB0 + n: f"OP_NOP{n + 1}" for n in range(3, 10)})
OPCODES.update({n: f"OP_RETURN_{n}" for n in range(0xBB, 0xFF)})
FEE_TARGETS = [*range(1, 26), 144, 504, 1008]


def script_asm(data: bytes) -> str:
    """rust-bitcoin's asm notation, as Esplora prints it."""
    parts, i = [], 0
    while i < len(data):
        op = data[i]
        i += 1
        if 0x01 <= op <= 0x4B:
            size, name = op, f"OP_PUSHBYTES_{op}"
        elif op in (0x4C, 0x4D, 0x4E):
            width = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
            if i + width > len(data):
                parts.append("<unexpected end>")
                break
            size, name = int.from_bytes(data[i:i + width], "little"), OPCODES[op]
            i += width
        else:
            parts.append(OPCODES[op])
            continue
        if i + size > len(data):
            parts.append("<push past end>")
            break
        parts.append(f"{name} {data[i:i + size].hex()}")
        i += size
    return " ".join(parts)


def script_type(data: bytes) -> str:
    if not data:
        return "empty"
    if data[0] == 0x6A:
        return "op_return"
    if (len(data) == 35 and data[0] == 33 or len(data) == 67 and data[0] == 65) and data[-1] == 0xAC:
        return "p2pk"
    kind = Script(data).script_type()
    if kind:
        return {"p2wpkh": "v0_p2wpkh", "p2wsh": "v0_p2wsh", "p2tr": "v1_p2tr"}.get(kind, kind)
    if data == bytes.fromhex("51024e73"):
        return "anchor"
    return "provably_unspendable" if data[0] == 0xFF or len(data) > 10_000 else "unknown"


def output_json(script: bytes, value: int) -> dict:
    out = {
        "scriptpubkey": script.hex(),
        "scriptpubkey_asm": script_asm(script),
        "scriptpubkey_type": script_type(script),
    }
    try:
        out["scriptpubkey_address"] = Script(script).address(NETWORKS["regtest"])
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


def tx_json(devnet: Devnet, tx: Transaction, raw: bytes, conf: Confirmation | None) -> dict:
    vin, value_in = [], 0
    is_coinbase = tx.vin[0].txid == bytes(32) and tx.vin[0].vout == 0xFFFFFFFF
    for inp in tx.vin:
        spent = None if is_coinbase else prevout(devnet, inp.txid.hex(), inp.vout)
        value_in += spent[1] if spent else 0
        item = {
            "txid": inp.txid.hex(),
            "vout": inp.vout,
            "prevout": output_json(*spent) if spent else None,
            "scriptsig": inp.script_sig.data.hex(),
            "scriptsig_asm": script_asm(inp.script_sig.data),
        }
        if inp.witness.items:
            item["witness"] = [w.hex() for w in inp.witness.items]
        item["is_coinbase"] = is_coinbase
        item["sequence"] = inp.sequence
        vin.append(item)
    return {
        "txid": tx.txid().hex(),
        "version": tx.version,
        "locktime": tx.locktime,
        "vin": vin,
        "vout": [output_json(out.script_pubkey.data, out.value) for out in tx.vout],
        "size": len(raw),
        "weight": block.weight(tx),
        "fee": 0 if is_coinbase else value_in - sum(out.value for out in tx.vout),
        "status": status_json(conf),
    }


def outspend_json(devnet: Devnet, txid: str, vout: int) -> dict:
    spender = devnet.mempool.spends.get((txid, vout))
    if spender:
        return {"spent": True, "txid": spender[0], "vin": spender[1], "status": {"confirmed": False}}
    out = devnet.index.output(txid, vout)
    if out and out.spent_txid:
        conf = devnet.index.tx(out.spent_txid)[1]
        return {"spent": True, "txid": out.spent_txid, "vin": out.spent_vin, "status": status_json(conf)}
    return {"spent": False}


def _stats(funded: list[int], spent: list[int], tx_count: int) -> dict:
    return {
        "funded_txo_count": len(funded),
        "funded_txo_sum": sum(funded),
        "spent_txo_count": len(spent),
        "spent_txo_sum": sum(spent),
        "tx_count": tx_count,
    }


def _mempool_touching(devnet: Devnet, script: bytes):
    """Mempool (entry, funded values, spent values) for `script`, newest first."""
    for entry in reversed(list(devnet.mempool.entries.values())):
        funded = [out.value for out in entry.tx.vout if out.script_pubkey.data == script]
        spent = []
        for inp in entry.tx.vin:
            prev = prevout(devnet, inp.txid.hex(), inp.vout)
            if prev and prev[0] == script:
                spent.append(prev[1])
        if funded or spent:
            yield entry, funded, spent


def address_json(devnet: Devnet, address: str, script: bytes) -> dict:
    outputs = devnet.index.outputs_of(script)
    chain_spent = [o.value for o in outputs if o.spent_txid]
    mempool = list(_mempool_touching(devnet, script))
    return {
        "address": address,
        "chain_stats": _stats([o.value for o in outputs], chain_spent, len(devnet.index.txids_of(script))),
        "mempool_stats": _stats(
            [v for _, f, _ in mempool for v in f], [v for _, _, s in mempool for v in s], len(mempool)
        ),
    }


def utxo_json(devnet: Devnet, script: bytes) -> list[dict]:
    utxos = []
    for entry, _, _ in _mempool_touching(devnet, script):
        for vout, out in enumerate(entry.tx.vout):
            if out.script_pubkey.data == script and (entry.txid, vout) not in devnet.mempool.spends:
                utxos.append({"txid": entry.txid, "vout": vout, "status": {"confirmed": False}, "value": out.value})
    for out in devnet.index.outputs_of(script):
        if not out.spent_txid and (out.txid, out.vout) not in devnet.mempool.spends:
            conf = devnet.index.tx(out.txid)[1]
            utxos.append({"txid": out.txid, "vout": out.vout, "status": status_json(conf), "value": out.value})
    return utxos


def address_txs_json(devnet: Devnet, script: bytes) -> list[dict]:
    """Up to 50 mempool txs then the newest 25 confirmed, as Esplora pages them."""
    txs = [tx_json(devnet, e.tx, e.raw, None) for e, _, _ in _mempool_touching(devnet, script)][:50]
    for txid in devnet.index.txids_of(script)[:25]:
        txs.append(tx_json(devnet, *find_tx(devnet, txid)))
    return txs


def mempool_json(devnet: Devnet) -> dict:
    entries = list(devnet.mempool.entries.values())
    histogram: dict[float, int] = {}
    for e in entries:
        rate = round(e.fee / e.vsize, 1)
        histogram[rate] = histogram.get(rate, 0) + e.vsize
    return {
        "count": len(entries),
        "vsize": sum(e.vsize for e in entries),
        "total_fee": sum(e.fee for e in entries),
        "fee_histogram": [[rate, vsize] for rate, vsize in sorted(histogram.items(), reverse=True)],
    }


def fee_estimates_json() -> dict:
    """Every block has room on the devnet, so the minimum relay rate always confirms next block."""
    return {str(target): 1.0 for target in FEE_TARGETS}


def block_json(devnet: Devnet, height: int) -> dict:
    """Esplora's /block/:hash; `mediantime` is what a wallet needs to know a time lock has passed."""
    chain = devnet.chain
    raw = chain.raw_block(height)
    header = raw[:80]
    txs = chain.block(height).txs
    witness = sum(2 + sum(len(i.witness.serialize()) for i in tx.vin) for tx in txs if tx.is_segwit)
    bits = int.from_bytes(header[72:76], "little")
    return {
        "id": chain.block_hash(height),
        "height": height,
        "version": int.from_bytes(header[:4], "little"),
        "timestamp": chain.block_time(height),
        "tx_count": len(txs),
        "size": len(raw),
        "weight": 3 * (len(raw) - witness) + len(raw),
        "merkle_root": header[36:68][::-1].hex(),
        "previousblockhash": chain.block_hash(height - 1) if height else None,
        "mediantime": chain.median_time_past(height),
        "nonce": int.from_bytes(header[76:80], "little"),
        "bits": bits,
        "difficulty": 0x00000000FFFF * 2 ** (8 * (0x1D - 3)) / ((bits & 0xFFFFFF) * 2 ** (8 * ((bits >> 24) - 3))),
    }
