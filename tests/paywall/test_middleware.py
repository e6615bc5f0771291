"""The paywall as aiohttp middleware in front of an API's own handlers (no proxy): the same
charging rules, with the handler's HTTP exceptions taken as answers."""

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from streamium_paywall.prices import PriceList, Route
from streamium_paywall.service import Settings, setup

from tests.browser.e2e_support import regtest_address
from tests.paywall.conftest import RawClient


async def test_the_middleware_charges_an_apis_own_handlers_only_for_what_they_answered(world, tmp_path):
    devnet, _, paywall, _ = world
    calls = []

    async def quote(request):
        calls.append(request.path)
        if request.match_info["symbol"] == "none":
            raise web.HTTPNotFound(text="no such symbol")
        if request.match_info["symbol"] == "boom":
            raise RuntimeError("a bug in the API")
        return web.json_response({"symbol": request.match_info["symbol"], "price": 42})

    app = web.Application()
    app.router.add_get("/quotes/{symbol}", quote)
    setup(app, Settings(prices=PriceList((Route.parse("GET /quotes/*=7"),), ()), network="regtest",
                        payout_address=regtest_address(), esplora=paywall.esplora_url,
                        db=str(tmp_path / "own.sqlite3"), fee_rate=2))
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            client = await RawClient(session, str(server.make_url("")).rstrip("/"), devnet).open()
            client.authorize(294)
            ok = await client.request("GET", "/quotes/abc")
            missing = await client.request("GET", "/quotes/none")
            broken = await client.request("GET", "/quotes/boom")
        assert (ok[0], ok[2].charged) == (200, 7)
        assert (missing[0], missing[1], missing[2].charged) == (404, b"no such symbol", 7)  # an answer, charged
        assert (broken[0], broken[2].charged, broken[2].spent) == (502, 0, 14)  # no answer, not charged
        assert calls == ["/quotes/abc", "/quotes/none", "/quotes/boom"]
    finally:
        await server.close()
