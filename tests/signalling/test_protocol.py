"""The wire protocol, checked identically against our server and the official peer 1.0.2.

Every test here runs twice: once against ``make_signalling_app`` and once
against npm ``peer`` 1.0.2 with the same settings, so an assertion that passes
for both is the official behaviour, not our reading of it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import aiohttp
import pytest

from streamium_server.signalling import DESCRIPTION
from tests.signalling.support import Endpoint, app_in_thread, connect, join, official_peer, signalling_root

MAX_CLIENTS = 4
ALIVE_TIMEOUT_S = 1.5
EXPIRE_TIMEOUT_S = 0.3
# peer 1.0.2 checks queues only once a second (cleanup_out_msgs).
EXPIRE_WAIT_S = EXPIRE_TIMEOUT_S + 2.5

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*")  # peerjs util.validateId


@pytest.fixture(scope="module", params=["ours", "official"])
def endpoint(request):
    if request.param == "ours":
        root, _ = signalling_root(
            max_clients=MAX_CLIENTS, alive_timeout_s=ALIVE_TIMEOUT_S,
            expire_timeout_s=EXPIRE_TIMEOUT_S, sweep_interval_s=0.05,
        )
        with app_in_thread(root) as port:
            yield Endpoint("ours", port)
    else:
        with official_peer(
            expire_timeout=int(EXPIRE_TIMEOUT_S * 1000), alive_timeout=int(ALIVE_TIMEOUT_S * 1000),
            concurrent_limit=MAX_CLIENTS,
        ) as official:
            yield official


def fresh(name: str) -> str:
    """An id no other test uses, so tests cannot see each other's peers."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_description(endpoint: Endpoint):
    async with aiohttp.ClientSession() as http, http.get(endpoint.http + "/") as r:
        assert r.status == 200
        assert r.content_type == "application/json"
        assert json.loads(await r.text()) == DESCRIPTION
        assert await r.text() == json.dumps(DESCRIPTION, separators=(",", ":"))


async def test_id_is_a_fresh_uuid_as_text(endpoint: Endpoint):
    async with aiohttp.ClientSession() as http:
        ids = []
        for _ in range(2):
            async with http.get(endpoint.http + "/peerjs/id", params={"ts": "123"}) as r:
                assert r.status == 200
                assert r.content_type == "text/html"
                ids.append(await r.text())
    assert ids[0] != ids[1]
    for peer_id in ids:
        assert UUID_RE.fullmatch(peer_id) and CLIENT_ID_RE.fullmatch(peer_id)


async def test_peer_listing_is_refused(endpoint: Endpoint):
    async with aiohttp.ClientSession() as http, http.get(endpoint.http + "/peerjs/peers") as r:
        assert r.status == 401


async def test_open_is_the_exact_first_message(endpoint: Endpoint):
    async with aiohttp.ClientSession() as http:
        peer = await join(http, endpoint, fresh("a"))
        await peer.expect_silence(0.2)


@pytest.mark.parametrize("missing", ["id", "token", "key"])
async def test_missing_parameter_is_an_error(endpoint: Endpoint, missing: str):
    query = {"key": "peerjs", "id": fresh("a"), "token": "t"}
    query[missing] = ""
    async with aiohttp.ClientSession() as http:
        peer = await connect(http, endpoint, **query)
        assert await peer.recv() == {
            "type": "ERROR", "payload": {"msg": "No id, token, or key supplied to websocket server"},
        }
        await peer.expect_closed()


async def test_wrong_key_is_an_error(endpoint: Endpoint):
    async with aiohttp.ClientSession() as http:
        peer = await connect(http, endpoint, key="nope", id=fresh("a"), token="t")
        assert await peer.recv_text() == '{"type":"ERROR","payload":{"msg":"Invalid key provided"}}'
        await peer.expect_closed()


async def test_id_held_under_another_token_is_taken(endpoint: Endpoint):
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        owner = await join(http, endpoint, a, token="mine")
        thief = await connect(http, endpoint, key="peerjs", id=a, token="theirs")
        assert await thief.recv_text() == '{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}'
        await thief.expect_closed()
        # The owner keeps the id.
        other = await join(http, endpoint, b)
        await other.send(type="OFFER", dst=a, payload={"x": 1})
        assert (await owner.recv())["src"] == b


async def test_same_token_reattaches_silently(endpoint: Endpoint):
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        first = await join(http, endpoint, a, token="mine")
        again = await connect(http, endpoint, key="peerjs", id=a, token="mine")
        other = await join(http, endpoint, b)
        await other.send(type="OFFER", dst=a, payload={"x": 1})
        # No OPEN for the re-attached socket: the first thing it sees is the relay.
        assert (await again.recv()) == {"type": "OFFER", "src": b, "dst": a, "payload": {"x": 1}}
        await first.close()


@pytest.mark.parametrize("kind", ["OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE"])
async def test_relay_rewrites_src_and_keeps_only_known_fields(endpoint: Endpoint, kind: str):
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        pa, pb = await join(http, endpoint, a), await join(http, endpoint, b)
        payload = {"sdp": {"type": "offer", "sdp": "v=0\r\n"}, "connectionId": "dc_1", "ü": [1, None]}
        await pa.send(type=kind, src="spoofed", dst=b, payload=payload, extra="dropped")
        text = await pb.recv_text()
        assert json.loads(text) == {"type": kind, "src": a, "dst": b, "payload": payload}
        assert list(json.loads(text)) == ["type", "src", "dst", "payload"]
        await pa.send(type=kind, dst=b)
        assert await pb.recv_text() == json.dumps({"type": kind, "src": a, "dst": b}, separators=(",", ":"))


async def test_binary_frames_carrying_json_are_relayed(endpoint: Endpoint):
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        pa, pb = await join(http, endpoint, a), await join(http, endpoint, b)
        await pa.ws.send_bytes(json.dumps({"type": "CANDIDATE", "dst": b, "payload": 1}).encode())
        assert await pb.recv() == {"type": "CANDIDATE", "src": a, "dst": b, "payload": 1}


@pytest.mark.parametrize("junk", [
    "[1,2]", "{}", '{"type":"OPEN"}', '{"type":"ERROR"}', '{"type":"ID-TAKEN","dst":"%(b)s"}',
    '{"type":"offer","dst":"%(b)s"}', '{"type":"HEARTBEAT","dst":"%(b)s"}', '{"type":["OFFER"],"dst":"%(b)s"}',
    '{"type":"OFFER","dst":["%(b)s"]}',
])
async def test_unknown_types_are_ignored(endpoint: Endpoint, junk: str):
    """JSON the server cannot act on is dropped.  (Unparseable frames make the
    official CLI close the socket; ours ignores them: see test_limits.)"""
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        pa, pb = await join(http, endpoint, a), await join(http, endpoint, b)
        await pa.ws.send_str(junk % {"b": b})
        await pa.send(type="OFFER", dst=b, payload="after")
        assert await pb.recv() == {"type": "OFFER", "src": a, "dst": b, "payload": "after"}
        await pa.expect_silence(0.1)


async def test_messages_for_an_absent_peer_wait_for_it(endpoint: Endpoint):
    a, c = fresh("a"), fresh("c")
    async with aiohttp.ClientSession() as http:
        pa = await join(http, endpoint, a)
        await pa.send(type="OFFER", dst=c, payload=1)
        await pa.send(type="CANDIDATE", dst=c, payload=2)
        await pa.send(type="LEAVE", dst=c, payload=3)  # LEAVE and EXPIRE are never queued
        await pa.send(type="EXPIRE", dst=c, payload=4)
        await asyncio.sleep(0.1)
        pc = await join(http, endpoint, c)
        assert await pc.recv() == {"type": "OFFER", "src": a, "dst": c, "payload": 1}
        assert await pc.recv() == {"type": "CANDIDATE", "src": a, "dst": c, "payload": 2}
        await pc.expect_silence(0.3)
        await pa.expect_silence(EXPIRE_WAIT_S)  # delivered, so no EXPIRE


async def test_undelivered_messages_expire_once_per_sender(endpoint: Endpoint):
    a, b, d = fresh("a"), fresh("b"), fresh("d")
    async with aiohttp.ClientSession() as http:
        pa, pb = await join(http, endpoint, a), await join(http, endpoint, b)
        for n in range(3):
            await pa.send(type="CANDIDATE", dst=d, payload=n)
        await pb.send(type="OFFER", dst=d, payload="b")
        assert await pa.recv_text(EXPIRE_WAIT_S) == json.dumps(
            {"type": "EXPIRE", "src": d, "dst": a}, separators=(",", ":"))
        assert await pb.recv(EXPIRE_WAIT_S) == {"type": "EXPIRE", "src": d, "dst": b}
        await pa.expect_silence(1.2)
        # The queue is gone: d connecting later gets nothing.
        pd = await join(http, endpoint, d)
        await pd.expect_silence(0.3)


async def test_server_full(endpoint: Endpoint):
    await asyncio.sleep(0.3)  # let the server forget the sockets earlier tests closed
    async with aiohttp.ClientSession() as http:
        peers = [await join(http, endpoint, fresh(f"p{n}")) for n in range(MAX_CLIENTS)]
        extra = await connect(http, endpoint, key="peerjs", id=fresh("x"), token="t")
        assert await extra.recv() == {
            "type": "ERROR", "payload": {"msg": "Server has reached its concurrent user limit"},
        }
        await extra.expect_closed()
        await peers[0].close()
        for _ in range(50):  # the server notices the close asynchronously
            await asyncio.sleep(0.05)
            late = await connect(http, endpoint, key="peerjs", id=fresh("y"), token="t")
            if (await late.recv())["type"] == "OPEN":
                break
        else:
            raise AssertionError("a freed slot was never reusable")


async def test_disconnect_frees_the_id_and_tells_partners_only_on_ours(endpoint: Endpoint):
    a, b = fresh("a"), fresh("b")
    async with aiohttp.ClientSession() as http:
        pa, pb = await join(http, endpoint, a), await join(http, endpoint, b)
        await pa.send(type="OFFER", dst=b, payload=1)
        await pb.recv()
        await pb.close()
        if endpoint.name == "ours":  # a deliberate difference: see test_leave
            assert await pa.recv_text() == json.dumps({"type": "LEAVE", "src": b, "dst": a}, separators=(",", ":"))
        await pa.expect_silence(0.5)  # peer 1.0.2 tells nobody; ours tells a once
        await join(http, endpoint, b, token="someone-else")


async def test_heartbeats_keep_a_client_alive_and_silence_drops_it(endpoint: Endpoint):
    quiet, chatty = fresh("quiet"), fresh("chatty")
    async with aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pq, pc = await join(http, endpoint, quiet, heartbeat=False), await join(http, endpoint, chatty)
        await pq.send(type="OFFER", dst=chatty, payload="not a heartbeat")  # only HEARTBEAT counts
        await pc.recv()
        await pq.expect_closed(ALIVE_TIMEOUT_S + 2)
        assert loop.time() - start >= ALIVE_TIMEOUT_S - 0.1
        await asyncio.sleep(0.5)
        assert not pc.ws.closed
        if endpoint.name == "ours":  # ours tells the dropped client's partner; peer 1.0.2 does not
            assert await pc.recv() == {"type": "LEAVE", "src": quiet, "dst": chatty}
        await pc.expect_silence(0.1)
        await pc.send(type="OFFER", dst=quiet, payload=1)  # queued now: the id is free
        newcomer = await join(http, endpoint, quiet, token="new")
        assert (await newcomer.recv())["src"] == chatty
