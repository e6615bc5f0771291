"""What K1 signs for a request: the target exactly as aiohttp puts it on the wire, the body as
the bytes sent; and the 402 quote, every field checked before use."""

import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.paid_http import route_matches
from streamium_pay import BadAnswer
from streamium_pay.client import prepare
from streamium_pay.quote import Quote, problem

TARGETS = ["/v1/a%20b?q=1", "/v1/%7Euser/x%2Fy?a=%2F&b=c+d", "/v1/caf%C3%A9?%E2%9C%93", "/", "/v1/x?"]


@pytest.fixture
async def echo():
    """A server that answers with the request target it received."""
    async def handler(request):
        return web.Response(text=request.raw_path, headers={"X-Body": (await request.read()).hex()})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        yield str(server.make_url("")).rstrip("/"), session


@pytest.mark.parametrize("target", TARGETS)
async def test_the_signed_target_is_the_one_sent(echo, target):
    origin, session = echo
    req = prepare("GET", origin + target)
    async with session.request(req.method, req.url) as response:
        assert await response.text() == req.target


async def test_unencoded_characters_are_encoded_once_and_params_join_the_signed_target(echo):
    origin, session = echo
    req = prepare("get", origin + "/v1/a b", params={"q": "x y", "n": 1})
    assert req.method == "GET" and req.target == "/v1/a%20b?q=x+y&n=1"
    async with session.request(req.method, req.url) as response:
        assert await response.text() == req.target


@pytest.mark.parametrize("kwargs, body, kind", [
    ({"json": {"a": 1}}, b'{"a": 1}', "application/json"),
    ({"data": {"a": "1 2"}}, b"a=1+2", "application/x-www-form-urlencoded"),
    ({"data": "é"}, "é".encode(), None),
    ({"data": b"\x00\x01"}, b"\x00\x01", None),
    ({}, b"", None),
])
async def test_the_signed_body_is_the_one_sent(echo, kwargs, body, kind):
    origin, session = echo
    req = prepare("POST", origin + "/x", **kwargs)
    assert req.body == body and req.headers.get("Content-Type") == kind
    async with session.request(req.method, req.url, data=req.body or None, headers=req.headers) as response:
        assert bytes.fromhex(response.headers["X-Body"]) == body


def test_a_body_that_cannot_be_known_in_advance_is_refused():
    with pytest.raises(TypeError, match="signed"):
        prepare("POST", "http://h/x", data=iter([b"a"]))
    with pytest.raises(ValueError, match="Idempotency-Key"):
        prepare("POST", "http://h/x", headers={"Idempotency-Key": "\x00"})


def quote_body(**changes):
    streamium = {"v": 2, "price_sat": 10, "route": "GET /v1/*", "channels": "/.well-known/streamium/channels",
                 "name": "api", "network": "regtest", "identity_pubkey": "02" + "ab" * 32,
                 "terms": {"payout_address": "bcrt1q" + "q" * 38, "min_deposit_sat": 5000, "min_payment_sat": 294,
                           "fee_rate_sat_vb": 2, "refund_lock_s": 86400, "max_unconfirmed_sat": 2000,
                           "confirmations": 0, "close_fee_sat": 169, "settle_margin_s": 7200}}
    for path, value in changes.items():
        *parents, name = path.split("__")
        target = streamium
        for parent in parents:
            target = target[parent]
        target[name] = value
    return json.dumps({"type": "about:blank", "status": 402, "streamium": streamium}).encode()


def test_a_well_formed_quote_is_read():
    q = Quote.from_problem(problem("application/problem+json", quote_body()), "regtest")
    assert (q.price_sat, q.route, q.terms["min_deposit_sat"]) == (10, "GET /v1/*", 5000)


@pytest.mark.parametrize("changes, words", [
    ({"price_sat": 10.0}, "price_sat"), ({"price_sat": True}, "price_sat"), ({"price_sat": 0}, "price_sat"),
    ({"route": "GET v1"}, "route"), ({"channels": "https://evil.example/c"}, "channels"),
    ({"channels": "/a/../b"}, "channels"), ({"identity_pubkey": "04" + "ab" * 32}, "identity_pubkey"),
    ({"network": "signet"}, "the server is on signet"), ({"v": 1}, "version 2"),
    ({"terms__min_deposit_sat": -1}, "min_deposit_sat"), ({"terms__fee_rate_sat_vb": "2"}, "fee_rate"),
    ({"terms": []}, "no terms"),
])
def test_a_malformed_quote_is_refused(changes, words):
    with pytest.raises(BadAnswer, match=words):
        Quote.from_problem(problem("application/problem+json", quote_body(**changes)), "regtest")


def test_only_a_problem_document_carries_a_quote():
    assert problem("application/json", quote_body()) is None
    assert problem("application/problem+json", b"NaN") is None
    with pytest.raises(BadAnswer, match="no Streamium quote"):
        Quote.from_problem(None, "regtest")


@pytest.mark.parametrize("route, method, path, matches", [
    ("GET /v1/*", "GET", "/v1/a/b", True), ("GET /v1/*", "POST", "/v1/a", False),
    ("* /v1/*", "DELETE", "/v1/a", True), ("GET /v1/*", "GET", "/v2/a", False),
])
def test_routes_match_method_and_path_glob(route, method, path, matches):
    assert route_matches(route, method, path) is matches
