"""The devnet's Esplora REST API, route for route as electrs' `src/rest.rs`
(Blockstream/electrs, with mempool/electrs' additions where wallets use them):
the same paths, status codes, content types, `Cache-Control` lifetimes and
error texts, so a client tested here behaves the same on blockstream.info or
mempool.space. Deliberate differences are listed in docs/devnet.md."""

import asyncio
import json
import re

from aiohttp import web
from embit.networks import NETWORKS
from embit.script import address_to_scriptpubkey

from . import esplora
from .index import scripthash
from .mempool import DECODE_FAILED
from .policy import RPC_DESERIALIZATION_ERROR, TxRejected
from .node import Devnet

DEVNET = web.AppKey("devnet", Devnet)
TTL_LONG = 157_784_630  # electrs: five years, for what no longer changes
TTL_SHORT = 10
TTL_MEMPOOL_RECENT = 5
CONF_FINAL = 10  # electrs: reorgs deeper than this are considered unlikely
MAX_BODY = 1_000_000  # a 100 kvB tx is at most 800 kB of hex
HEX = re.compile(r"[0-9a-fA-F]*")  # used with fullmatch: "$" would let a trailing newline in
DIGITS = re.compile(r"[0-9]{1,20}")


class RestError(Exception):
    """An answer electrs gives as text/plain with this status."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


def not_found(text: str) -> RestError:
    return RestError(404, text)


def text(body: str, ttl: int, content_type: str = "text/plain") -> web.Response:
    return web.Response(text=body, content_type=content_type, headers={"Cache-Control": f"public, max-age={ttl}"})


def binary(body: bytes, ttl: int) -> web.Response:
    return web.Response(body=body, content_type="application/octet-stream",
                        headers={"Cache-Control": f"public, max-age={ttl}"})


def json_response(value, ttl: int) -> web.Response:
    return text(json.dumps(value, separators=(",", ":")), ttl, "application/json")


async def locked(request, fn, *args):
    """Run `fn(devnet, *args)` under the devnet lock on a worker thread: kernel calls can be slow."""
    devnet: Devnet = request.app[DEVNET]

    def job():
        with devnet.lock:
            return fn(devnet, *args)

    return await asyncio.get_running_loop().run_in_executor(None, job)


def ttl_by_depth(devnet: Devnet, height: int | None) -> int:
    if height is None:
        return TTL_SHORT
    return TTL_LONG if devnet.chain.height - height >= CONF_FINAL else TTL_SHORT


# -- parameters, parsed and refused as electrs refuses them -----------------------------

def hash_param(request, name: str) -> str:
    value = request.match_info[name]
    if len(value) != 64 or not HEX.fullmatch(value):
        raise RestError(400, "Invalid hex string")
    return value.lower()


def number_param(request, name: str, high: int = 2**64 - 1) -> int:
    value = request.match_info[name]
    if not DIGITS.fullmatch(value) or int(value) > high:
        raise RestError(400, "Invalid number")
    return int(value)


def lenient_number(value: str | None) -> int | None:
    """electrs' `.parse().ok()`: a bad number counts as none given."""
    return int(value) if value is not None and DIGITS.fullmatch(value) else None


def script_hash_param(request) -> tuple[str, str, bytes]:
    """("address" or "scripthash", the value as given, the script hash)."""
    kind = request.match_info["kind"]
    value = request.match_info["script"]
    if kind == "scripthash":
        if len(value) % 2 or not HEX.fullmatch(value):
            raise RestError(400, "Invalid hex string")
        if len(value) != 64:
            raise RestError(400, "Invalid scripthash")
        return kind, value, bytes.fromhex(value)
    return kind, value, scripthash(address_script(value))


def address_script(address: str) -> bytes:
    """The output script of a regtest (or testnet-encoded) address, as electrs on regtest takes them."""
    spelled = address.lower() if address.isupper() else address
    try:
        spk = address_to_scriptpubkey(spelled)
    except Exception:
        raise RestError(400, "Invalid Bitcoin address") from None
    for network in ("regtest", "test", "main"):
        try:
            if spk.address(NETWORKS[network]) == spelled:
                if network == "main":
                    break
                return spk.data
        except Exception:
            pass
    raise RestError(400, "Address on invalid network")


# -- blocks ---------------------------------------------------------------------------------

async def tip_hash(request):
    return text(request.app[DEVNET].chain.tip_hash, TTL_SHORT)


async def tip_height(request):
    return text(str(request.app[DEVNET].chain.height), TTL_SHORT)


async def blocks(request):
    devnet: Devnet = request.app[DEVNET]
    start = lenient_number(request.match_info.get("start"))
    start = devnet.chain.height if start is None else start
    if start > devnet.chain.height:
        raise not_found("Block not found")
    return json_response(await locked(request, esplora.blocks_json, start), TTL_SHORT)


async def block_at_height(request):
    height = number_param(request, "height")
    found = await locked(request, lambda d: d.index.block_hash(height))
    if found is None:
        raise not_found("Block not found")
    return text(found, TTL_SHORT)  # not ttl_by_depth: `--reset` gives a height another block


async def _block_height(request) -> int:
    height = await locked(request, lambda d, h: d.index.block_height(h), hash_param(request, "hash"))
    if height is None:
        raise not_found("Block not found")
    return height


async def block(request):
    return json_response(await locked(request, esplora.block_json, await _block_height(request)), TTL_LONG)


async def block_status(request):
    devnet = request.app[DEVNET]
    status = await locked(request, esplora.block_status_json, hash_param(request, "hash"))
    return json_response(status, ttl_by_depth(devnet, status["height"]))


async def block_txids(request):
    return json_response(await locked(request, esplora.block_txids, await _block_height(request)), TTL_LONG)


async def block_header(request):
    height = await _block_height(request)
    raw = await locked(request, lambda d: d.chain.raw_block(height))
    return text(raw[:80].hex(), TTL_LONG)


async def block_raw(request):
    height = await _block_height(request)
    return binary(await locked(request, lambda d: d.chain.raw_block(height)), TTL_LONG)


async def block_txid_at(request):
    height = await _block_height(request)
    index = number_param(request, "index")
    txids = await locked(request, esplora.block_txids, height)
    if index >= len(txids):
        raise not_found("tx index out of range")
    return text(txids[index], TTL_LONG)


async def block_txs(request):
    devnet = request.app[DEVNET]
    height = await _block_height(request)
    start = lenient_number(request.match_info.get("start")) or 0
    txids = await locked(request, esplora.block_txids, height)
    if start >= len(txids):
        raise not_found("start index out of range")
    if start % esplora.CHAIN_TXS_PER_PAGE:
        raise RestError(400, f"start index must be a multipication of {esplora.CHAIN_TXS_PER_PAGE}")
    page = txids[start:start + esplora.CHAIN_TXS_PER_PAGE]
    return json_response(await locked(request, esplora.txs_json, page), ttl_by_depth(devnet, height))


# -- addresses and script hashes ----------------------------------------------------------

async def script_stats(request):
    kind, value, key = script_hash_param(request)
    return json_response(await locked(request, esplora.stats_json, kind, value, key), TTL_SHORT)


async def script_txs(request):
    _, _, key = script_hash_param(request)
    return json_response(await locked(request, esplora.history_json, key), TTL_SHORT)


async def script_chain_txs(request):
    _, _, key = script_hash_param(request)
    last_seen = request.match_info.get("last_seen")
    last_seen = last_seen.lower() if last_seen and len(last_seen) == 64 and HEX.fullmatch(last_seen) else None
    return json_response(await locked(request, esplora.chain_txs_json, key, last_seen), TTL_SHORT)


async def script_mempool_txs(request):
    _, _, key = script_hash_param(request)
    return json_response(await locked(request, esplora.mempool_txs_json, key), TTL_SHORT)


async def script_utxo(request):
    _, _, key = script_hash_param(request)
    return json_response(await locked(request, esplora.utxo_json, key), TTL_SHORT)


async def address_prefix(request):
    raise RestError(400, "address search disabled")  # electrs' default (no --address-search)


# -- transactions ---------------------------------------------------------------------------

async def _tx(request):
    found = await locked(request, esplora.find_tx, hash_param(request, "txid"))
    if found is None:
        raise not_found("Transaction not found")
    return found


async def tx(request):
    devnet = request.app[DEVNET]
    found = await _tx(request)
    height = found[2].height if found[2] else None
    return json_response(await locked(request, esplora.tx_json, *found), ttl_by_depth(devnet, height))


async def tx_hex(request):
    _, raw, conf = await _tx(request)
    return text(raw.hex(), ttl_by_depth(request.app[DEVNET], conf and conf.height))


async def tx_raw(request):
    _, raw, conf = await _tx(request)
    return binary(raw, ttl_by_depth(request.app[DEVNET], conf and conf.height))


async def tx_status(request):
    """Always 200: a tx electrs has never seen is {"confirmed": false}, as one in the mempool."""
    found = await locked(request, esplora.find_tx, hash_param(request, "txid"))
    conf = found[2] if found else None
    return json_response(esplora.status_json(conf), ttl_by_depth(request.app[DEVNET], conf and conf.height))


async def tx_merkle_proof(request):
    proof = await locked(request, esplora.merkle_proof_json, hash_param(request, "txid"))
    if proof is None:
        raise not_found("Transaction not found or is unconfirmed")
    return json_response(proof, ttl_by_depth(request.app[DEVNET], proof["block_height"]))


async def tx_outspend(request):
    """Always 200: an unknown or unspent output is {"spent": false}."""
    txid = hash_param(request, "txid")
    spend = await locked(request, esplora.spending_json, txid, number_param(request, "vout", 2**32 - 1))
    height = spend.get("status", {}).get("block_height")
    return json_response(spend, ttl_by_depth(request.app[DEVNET], height))


async def tx_outspends(request):
    spends = await locked(request, esplora.outspends_json, hash_param(request, "txid"))
    if spends is None:
        raise not_found("Transaction not found")
    return json_response(spends, TTL_SHORT)


async def read_body(request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RestError(400, f"body too large: over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_BODY:
            raise RestError(400, f"body too large: over {MAX_BODY} bytes")
    return bytes(body)


async def post_tx(request):
    """electrs passes the body to sendrawtransaction as it is: hex, nothing around it."""
    body = await read_body(request)
    try:
        hex_tx = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RestError(400, "invalid utf-8 sequence") from None
    return await _broadcast(request, hex_tx)


async def get_broadcast(request):
    """The deprecated GET /broadcast?tx=HEX electrs still accepts."""
    if "tx" not in request.query:
        raise RestError(400, "Missing tx")
    return await _broadcast(request, request.query["tx"])


async def _broadcast(request, hex_tx: str):
    if not hex_tx or len(hex_tx) % 2 or not HEX.fullmatch(hex_tx):
        raise TxRejected(DECODE_FAILED, code=RPC_DESERIALIZATION_ERROR)  # Core's IsHex refusal
    raw = bytes.fromhex(hex_tx)
    return text(await locked(request, lambda d: d.submit(raw)), 0)


# -- mempool and fees -----------------------------------------------------------------------

async def mempool(request):
    return json_response(await locked(request, esplora.mempool_json), TTL_SHORT)


async def mempool_txids(request):
    return json_response(await locked(request, lambda d: list(d.mempool.entries)), TTL_SHORT)


async def mempool_recent(request):
    return json_response(await locked(request, lambda d: list(d.recent)), TTL_MEMPOOL_RECENT)


async def fee_estimates(request):
    return json_response(esplora.fee_estimates_json(), TTL_SHORT)


def add_routes(router: web.UrlDispatcher) -> None:
    get = router.add_get
    get("/blocks/tip/hash", tip_hash)
    get("/blocks/tip/height", tip_height)
    get("/blocks", blocks)
    get("/blocks/{start}", blocks)
    get("/block-height/{height}", block_at_height)
    get("/block/{hash}", block)
    get("/block/{hash}/status", block_status)
    get("/block/{hash}/txids", block_txids)
    get("/block/{hash}/header", block_header)
    get("/block/{hash}/raw", block_raw)
    get("/block/{hash}/txid/{index}", block_txid_at)
    get("/block/{hash}/txs", block_txs)
    get("/block/{hash}/txs/{start}", block_txs)
    for kind in ("address", "scripthash"):
        prefix = f"/{{kind:{kind}}}/{{script}}"
        get(prefix, script_stats)
        get(prefix + "/txs", script_txs)
        get(prefix + "/txs/chain", script_chain_txs)
        get(prefix + "/txs/chain/{last_seen}", script_chain_txs)
        get(prefix + "/txs/mempool", script_mempool_txs)
        get(prefix + "/utxo", script_utxo)
    get("/address-prefix/{prefix}", address_prefix)
    get("/tx/{txid}", tx)
    get("/tx/{txid}/hex", tx_hex)
    get("/tx/{txid}/raw", tx_raw)
    get("/tx/{txid}/status", tx_status)
    get("/tx/{txid}/merkle-proof", tx_merkle_proof)
    get("/tx/{txid}/outspend/{vout}", tx_outspend)
    get("/tx/{txid}/outspends", tx_outspends)
    router.add_post("/tx", post_tx)
    get("/broadcast", get_broadcast)
    get("/mempool", mempool)
    get("/mempool/txids", mempool_txids)
    get("/mempool/recent", mempool_recent)
    get("/fee-estimates", fee_estimates)
