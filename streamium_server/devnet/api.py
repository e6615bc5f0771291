"""The devnet as an aiohttp sub-application: the Esplora REST API of rest.py,
the devnet-only controls (mine, faucet, info) and the block-interval miner.
Answers carry `Access-Control-Allow-Origin: *` as the public Esplora servers'
do; refusals are text/plain in electrs' words."""

import asyncio
import json
import logging

from aiohttp import web

from . import rest
from .node import Devnet, DevnetError
from .policy import TxRejected
from .rest import DEVNET, RestError, locked

log = logging.getLogger(__name__)

MINER = web.AppKey("miner", asyncio.Task)


@web.middleware
async def electrs_answers(request, handler):
    """Every refusal in electrs' shape, and CORS headers on every answer, errors included."""
    try:
        response = await handler(request)
    except RestError as e:
        response = web.Response(status=e.status, text=e.text)
    except TxRejected as e:
        rpc_error = json.dumps({"code": e.code, "message": str(e)}, separators=(",", ":"), ensure_ascii=False)
        response = web.Response(status=400, text=f"sendrawtransaction RPC error: {rpc_error}")
    except DevnetError as e:
        response = web.Response(status=400, text=str(e))
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        response = web.Response(status=404, text=f"endpoint does not exist {json.dumps(request.path)}")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("devnet request %s %s failed", request.method, request.path)
        response = web.Response(status=500, text="internal devnet error (see server log)")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


REQUIRED = object()


async def read_json(request, fields: dict[str, tuple[type, object]]) -> dict:
    """A JSON object with exactly `fields` (name -> (type, default or REQUIRED))."""
    try:
        data = json.loads(await rest.read_body(request) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise DevnetError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise DevnetError("body must be a JSON object")
    unknown = set(data) - set(fields)
    if unknown:
        raise DevnetError(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    for name, (kind, default) in fields.items():
        if name not in data:
            if default is REQUIRED:
                raise DevnetError(f"missing field: {name}")
            data[name] = default
        elif type(data[name]) is not kind:
            raise DevnetError(f"field {name} must be {'a string' if kind is str else 'an integer'}")
    return data


# -- devnet controls ---------------------------------------------------------------

async def mine(request):
    data = await read_json(request, {"blocks": (int, 1), "advance_s": (int, 0)})
    devnet: Devnet = request.app[DEVNET]
    mined = await locked(request, lambda d: d.mine(data["blocks"], data["advance_s"]))
    return web.json_response({
        "height": devnet.chain.height,
        "block_hashes": [b.hash for b in mined],
        "time_offset": devnet.time_offset,
    })


async def faucet(request):
    data = await read_json(request, {"address": (str, REQUIRED), "amount_sat": (int, REQUIRED)})
    txid = await locked(request, lambda d: d.send_from_faucet(data["address"], data["amount_sat"]))
    return web.json_response({"txid": txid})


async def info(request):
    return web.json_response(await locked(request, lambda d: d.info()))


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


async def lifecycle(app):
    """The miner runs while the app does; the devnet's files are closed after it."""
    if app[DEVNET].block_interval > 0:
        app[MINER] = asyncio.create_task(run_miner(app))
    yield
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
    app = web.Application(middlewares=[electrs_answers])
    app[DEVNET] = Devnet(data_dir, block_interval=block_interval, reset=reset)
    app.cleanup_ctx.append(lifecycle)
    rest.add_routes(app.router)
    app.router.add_post("/devnet/mine", mine)
    app.router.add_post("/devnet/faucet", faucet)
    app.router.add_get("/devnet/info", info)
    return app
