"""HTTP face of the devnet: the Esplora REST subset the app and wallets use,
plus devnet-only controls (mine, faucet, info) and the block-interval miner.
Every input is checked here; refusals are 400 with a plain-text reason."""

import asyncio
import json
import logging
import re

from aiohttp import web

from . import esplora
from .mempool import TxRejected, decode
from .node import Devnet, DevnetError, regtest_script

log = logging.getLogger(__name__)

MINER = web.AppKey("miner", asyncio.Task)
MAX_BODY = 1_000_000  # a 100 kvB tx is at most 800 kB of hex
DEVNET = web.AppKey("devnet", Devnet)
TXID = re.compile(r"^[0-9a-fA-F]{64}$")
DECIMAL = re.compile(r"^[0-9]{1,10}$")


def bad_request(text: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=text)


@web.middleware
async def plain_errors(request, handler):
    """Refusals become 400 plain text; anything unexpected a 500 without a traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (TxRejected, DevnetError) as e:
        raise bad_request(str(e)) from None
    except Exception:
        log.exception("devnet request %s %s failed", request.method, request.path)
        raise web.HTTPInternalServerError(text="internal devnet error (see server log)") from None


async def locked(request, fn, *args):
    """Run `fn` under the devnet lock on a worker thread: kernel calls can be slow."""
    devnet: Devnet = request.app[DEVNET]

    def job():
        with devnet.lock:
            return fn(*args)

    return await asyncio.get_running_loop().run_in_executor(None, job)


def txid_param(request) -> str:
    txid = request.match_info["txid"]
    if not TXID.match(txid):
        raise bad_request("Invalid hex string: a txid is 64 hex characters")
    return txid.lower()


def int_param(request, name: str) -> int:
    value = request.match_info[name]
    if not DECIMAL.match(value) or int(value) > 0xFFFFFFFF:
        raise bad_request(f"invalid {name}: {value[:20]!r} is not a non-negative 32-bit integer")
    return int(value)


async def read_body(request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise bad_request(f"body too large: over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_BODY:
            raise bad_request(f"body too large: over {MAX_BODY} bytes")
    return bytes(body)


REQUIRED = object()


async def read_json(request, fields: dict[str, tuple[type, object]]) -> dict:
    """A JSON object with exactly `fields` (name -> (type, default or REQUIRED))."""
    try:
        data = json.loads(await read_body(request) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad_request("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    unknown = set(data) - set(fields)
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    for name, (kind, default) in fields.items():
        if name not in data:
            if default is REQUIRED:
                raise bad_request(f"missing field: {name}")
            data[name] = default
        elif type(data[name]) is not kind:
            raise bad_request(f"field {name} must be {'a string' if kind is str else 'an integer'}")
    return data


# -- Esplora ------------------------------------------------------------------

async def tip_height(request):
    return web.Response(text=str(request.app[DEVNET].chain.height))


async def tip_hash(request):
    return web.Response(text=request.app[DEVNET].chain.tip_hash)


async def block_at_height(request):
    height = int_param(request, "height")
    found = await locked(request, request.app[DEVNET].index.block_hash, height)
    if found is None:
        raise web.HTTPNotFound(text="Block not found")
    return web.Response(text=found)


async def block_by_hash(request):
    block_hash = request.match_info["hash"].lower()
    if not TXID.match(block_hash):
        raise bad_request("Invalid hex string: a block hash is 64 hex characters")
    devnet = request.app[DEVNET]
    height = await locked(request, devnet.index.block_height, block_hash)
    if height is None:
        raise web.HTTPNotFound(text="Block not found")
    return web.json_response(await locked(request, esplora.block_json, devnet, height))


async def tx_lookup(request):
    found = await locked(request, esplora.find_tx, request.app[DEVNET], txid_param(request))
    if found is None:
        raise web.HTTPNotFound(text="Transaction not found")
    return found


async def tx(request):
    found = await tx_lookup(request)
    return web.json_response(await locked(request, esplora.tx_json, request.app[DEVNET], *found))


async def tx_hex(request):
    return web.Response(text=(await tx_lookup(request))[1].hex())


async def tx_status(request):
    return web.json_response(esplora.status_json((await tx_lookup(request))[2]))


async def tx_outspend(request):
    tx_, _, _ = await tx_lookup(request)
    vout = int_param(request, "vout")
    if vout >= len(tx_.vout):
        raise web.HTTPNotFound(text="Transaction output not found")
    devnet = request.app[DEVNET]
    return web.json_response(await locked(request, esplora.outspend_json, devnet, tx_.txid().hex(), vout))


def address_param(request) -> tuple[str, bytes]:
    address = request.match_info["address"]
    try:
        return address, regtest_script(address)
    except DevnetError as e:
        raise bad_request(str(e)) from None


async def address(request):
    addr, script = address_param(request)
    return web.json_response(await locked(request, esplora.address_json, request.app[DEVNET], addr, script))


async def address_utxo(request):
    _, script = address_param(request)
    return web.json_response(await locked(request, esplora.utxo_json, request.app[DEVNET], script))


async def address_txs(request):
    _, script = address_param(request)
    return web.json_response(await locked(request, esplora.address_txs_json, request.app[DEVNET], script))


async def fee_estimates(request):
    return web.json_response(esplora.fee_estimates_json())


async def mempool(request):
    return web.json_response(await locked(request, esplora.mempool_json, request.app[DEVNET]))


async def post_tx(request):
    body = (await read_body(request)).strip()
    try:
        raw = bytes.fromhex(body.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise bad_request("TX decode failed: body must be the transaction as hex") from None
    decode(raw)  # refuse garbage before taking the lock
    return web.Response(text=await locked(request, request.app[DEVNET].submit, raw))


# -- devnet controls ---------------------------------------------------------------

async def mine(request):
    data = await read_json(request, {"blocks": (int, 1), "advance_s": (int, 0)})
    devnet: Devnet = request.app[DEVNET]
    mined = await locked(request, devnet.mine, data["blocks"], data["advance_s"])
    return web.json_response({
        "height": devnet.chain.height,
        "block_hashes": [b.hash for b in mined],
        "time_offset": devnet.time_offset,
    })


async def faucet(request):
    data = await read_json(request, {"address": (str, REQUIRED), "amount_sat": (int, REQUIRED)})
    txid = await locked(request, request.app[DEVNET].send_from_faucet, data["address"], data["amount_sat"])
    return web.json_response({"txid": txid})


async def info(request):
    return web.json_response(await locked(request, request.app[DEVNET].info))


# -- application ---------------------------------------------------------------------

async def run_miner(app):
    devnet: Devnet = app[DEVNET]
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(devnet.block_interval)
        try:
            await loop.run_in_executor(None, devnet.mine, 1)
        except Exception:
            log.exception("devnet miner failed to mine a block")


async def start_miner(app):
    if app[DEVNET].block_interval > 0:
        app[MINER] = asyncio.create_task(run_miner(app))


async def stop(app):
    miner = app.get(MINER)
    if miner:
        miner.cancel()
        try:
            await miner
        except asyncio.CancelledError:
            pass
    app[DEVNET].close()


def make_devnet_app(data_dir, *, block_interval: float = 10, reset: bool = False) -> web.Application:
    """The devnet as an aiohttp app to mount with root.add_subapp("/api", app)."""
    if block_interval < 0:
        raise ValueError("block_interval must be >= 0")
    app = web.Application(middlewares=[plain_errors])
    app[DEVNET] = Devnet(data_dir, block_interval=block_interval, reset=reset)
    app.on_startup.append(start_miner)
    app.on_cleanup.append(stop)
    app.router.add_get("/blocks/tip/height", tip_height)
    app.router.add_get("/blocks/tip/hash", tip_hash)
    app.router.add_get("/block-height/{height}", block_at_height)
    app.router.add_get("/block/{hash}", block_by_hash)
    app.router.add_get("/tx/{txid}", tx)
    app.router.add_get("/tx/{txid}/hex", tx_hex)
    app.router.add_get("/tx/{txid}/status", tx_status)
    app.router.add_get("/tx/{txid}/outspend/{vout}", tx_outspend)
    app.router.add_get("/address/{address}", address)
    app.router.add_get("/address/{address}/utxo", address_utxo)
    app.router.add_get("/address/{address}/txs", address_txs)
    app.router.add_get("/fee-estimates", fee_estimates)
    app.router.add_get("/mempool", mempool)
    app.router.add_post("/tx", post_tx)
    app.router.add_post("/devnet/mine", mine)
    app.router.add_post("/devnet/faucet", faucet)
    app.router.add_get("/devnet/info", info)
    return app
