"""Our server's own rules: hostile input, limits and deliberate differences from peer 1.0.2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamium_server.signalling import _SIGNALLER, _Signaller, is_valid_id
from tests.signalling.support import Endpoint, app_in_thread, connect, join, serve_app, signalling_root


@asynccontextmanager
async def ours(**options) -> AsyncIterator[tuple[Endpoint, _Signaller]]:
    """A fresh server on this test's loop, with fast housekeeping."""
    options.setdefault("sweep_interval_s", 0.05)
    root, sub = signalling_root(**options)
    async with serve_app(root) as port:
        yield Endpoint("ours", port), sub[_SIGNALLER]


async def relay_works(http: aiohttp.ClientSession, ep: Endpoint, tag: str) -> None:
    """Two new peers can still talk: the server is alive and well."""
    pa, pb = await join(http, ep, f"{tag}a"), await join(http, ep, f"{tag}b")
    await pa.send(type="OFFER", dst=f"{tag}b", payload="hi")
    assert await pb.recv() == {"type": "OFFER", "src": f"{tag}a", "dst": f"{tag}b", "payload": "hi"}
    await pa.close()
    await pb.close()


@pytest.mark.parametrize("peer_id, valid", [
    ("a", True), ("Alice-42", True), ("a b", True), ("a_b-c d", True),
    ("0e8f1d3c-8d42-4b1f-9c6a-2f1e0b7c9d11", True),
    ("-a", False), ("a-", False), ("a--b", False), ("a  b", False), (" a", False),
    ("a/b", False), ("é", False), ("a.b", False), ("a\nb", False), ("", False),
])
def test_id_syntax_is_the_clients(peer_id: str, valid: bool):
    assert is_valid_id(peer_id) is valid


@pytest.mark.parametrize("peer_id", ["-a", "a--b", "a/b", "é", "x" * 3 + "!"])
async def test_invalid_id_is_refused(peer_id: str):
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        peer = await connect(http, ep, key="peerjs", id=peer_id, token="t")
        assert await peer.recv() == {"type": "ERROR", "payload": {"msg": "Invalid id provided"}}
        await peer.expect_closed()


async def test_ids_with_spaces_work_end_to_end():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "alice smith"), await join(http, ep, "bob_jones")
        await pa.send(type="OFFER", dst="bob_jones", payload=1)
        assert (await pb.recv())["src"] == "alice smith"


@pytest.mark.parametrize("junk", [
    b"not json", b"", b"null", b"42", b'"OFFER"', b'{"type":"OFFER"', b"[" * 60_000,
    b'{"type":"OFFER","dst":"b","payload":NaN}', b'{"type":"OFFER","dst":"b","payload":Infinity}',
    b"\xff\xfe{}", '{"type":"OFFER","dst":"b","payload":"\udc80"}'.encode("utf-8", "surrogatepass"),
])
async def test_unparseable_frames_are_ignored(junk: bytes):
    """peer 1.0.2's CLI drops such a socket (an unhandled error event); we ignore the frame."""
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        await pa.ws.send_bytes(junk)
        await pa.send(type="OFFER", dst="b", payload="after")
        assert await pb.recv() == {"type": "OFFER", "src": "a", "dst": "b", "payload": "after"}


async def test_escaped_lone_surrogates_are_relayed():
    """Valid JSON that JavaScript strings can hold, though UTF-8 cannot."""
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        await pa.ws.send_str('{"type":"OFFER","dst":"b","payload":"\\udc80 \\u00fc"}')
        assert await pb.recv_text() == '{"type":"OFFER","src":"a","dst":"b","payload":"\\udc80 \\u00fc"}'


async def test_message_size_limit():
    limit = 64 * 1024
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        envelope = json.dumps({"type": "CANDIDATE", "dst": "b", "payload": ""})
        exact = envelope.replace('""', '"' + "x" * (limit - len(envelope)) + '"')
        assert len(exact.encode()) == limit
        await pa.ws.send_str(exact)
        assert len((await pb.recv())["payload"]) == limit - len(envelope)

        await pa.ws.send_str(exact.replace('"x', '"xx'))  # one byte over
        assert await pa.recv() == {"type": "ERROR", "payload": {"msg": "Message too big"}}
        await pa.expect_closed()

        huge = await join(http, ep, "c")
        await huge.ws.send_str("x" * (4 * limit))  # cut off by the WebSocket layer itself
        msg = await huge.ws.receive(timeout=3)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        await relay_works(http, ep, "after")


async def test_message_rate_limit():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a", heartbeat=False), await join(http, ep, "b")
        for _ in range(100):  # a full second's worth at once is fine
            await pa.send(type="HEARTBEAT")
        await asyncio.sleep(0.1)  # ~10 more allowed
        await pa.send(type="OFFER", dst="b", payload=1)
        assert (await pb.recv())["payload"] == 1
        for _ in range(300):  # far faster than the server could take 100/s
            if pa.ws.closed:
                break
            await pa.send(type="HEARTBEAT")
        assert await pa.recv() == {"type": "ERROR", "payload": {"msg": "Too many messages"}}
        await pa.expect_closed()
        await relay_works(http, ep, "after")


async def test_queue_is_bounded_per_peer():
    async with ours(max_queued_per_peer=3, expire_timeout_s=10) as (ep, signaller), aiohttp.ClientSession() as http:
        pa = await join(http, ep, "a")
        for n in range(5):
            await pa.send(type="CANDIDATE", dst="later", payload=n)
        await pa.expect_silence(0.2)  # the overflow is dropped; a's queued ones will EXPIRE for it
        later = await join(http, ep, "later")
        assert [(await later.recv())["payload"] for _ in range(3)] == [0, 1, 2]
        await later.expect_silence(0.2)
        assert signaller.queued_bytes == 0 and not signaller.queues


async def test_queue_is_bounded_in_bytes():
    async with ours(max_queued_bytes=2000, expire_timeout_s=10) as (ep, signaller), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        await pa.send(type="OFFER", dst="x1", payload="p" * 1000)
        await pb.send(type="OFFER", dst="x2", payload="p" * 1000)  # over budget: told at once
        assert await pb.recv() == {"type": "EXPIRE", "src": "x2", "dst": "b"}
        await pa.expect_silence(0.2)
        assert 1000 < signaller.queued_bytes <= 2000
        x1 = await join(http, ep, "x1")
        assert (await x1.recv())["src"] == "a"
        assert signaller.queued_bytes == 0


async def test_expired_queues_release_their_bytes():
    async with ours(expire_timeout_s=0.2) as (ep, signaller), aiohttp.ClientSession() as http:
        pa = await join(http, ep, "a")
        for n in range(10):
            await pa.send(type="CANDIDATE", dst=f"nobody{n}", payload="p" * 100)
        assert {(await pa.recv())["src"] for _ in range(10)} == {f"nobody{n}" for n in range(10)}
        assert signaller.queued_bytes == 0 and not signaller.queues


async def test_reattaching_closes_the_replaced_socket():
    """peer 1.0.2 leaves the old socket open; we close it so an id holds one socket."""
    async with ours() as (ep, signaller), aiohttp.ClientSession() as http:
        first = await join(http, ep, "a", token="mine")
        second = await connect(http, ep, key="peerjs", id="a", token="mine")
        second.start_heartbeat()
        await first.expect_closed()
        await asyncio.sleep(0.1)
        assert signaller.clients["a"].ws is not None and not second.ws.closed
        pb = await join(http, ep, "b")
        await pb.send(type="ANSWER", dst="a", payload=1)
        assert (await second.recv())["payload"] == 1


async def test_leave_without_destination_unregisters_and_closes():
    async with ours() as (ep, signaller), aiohttp.ClientSession() as http:
        pa = await join(http, ep, "a")
        await pa.send(type="LEAVE")
        await pa.expect_closed()
        await join(http, ep, "a", token="someone-else")


async def test_dead_destination_is_dropped_and_reported_with_leave():
    """When a send fails, the sender hears LEAVE from the destination (as in peer 1.0.2)."""

    class DeadSocket:
        closed = True

        async def close(self) -> bool:
            return False

    async with ours() as (ep, signaller), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        signaller.clients["b"].ws = DeadSocket()
        await pa.send(type="OFFER", dst="b", payload=1)
        assert await pa.recv() == {"type": "LEAVE", "src": "b", "dst": "a"}
        assert "b" not in signaller.clients
        await pb.close()


async def test_plain_get_on_the_socket_path_is_404():
    async with ours() as (ep, _), aiohttp.ClientSession() as http, http.get(ep.http + "/peerjs") as r:
        assert r.status == 404


async def test_id_response_allows_any_origin_like_peer():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        async with http.get(ep.http + "/peerjs/id", headers={"Origin": "https://elsewhere.example"}) as r:
            assert r.headers["Access-Control-Allow-Origin"] == "https://elsewhere.example"


async def test_shutdown_closes_clients_promptly():
    root, _ = signalling_root()
    async with aiohttp.ClientSession() as http:
        loop = asyncio.get_running_loop()
        async with serve_app(root) as port:
            peer = await join(http, Endpoint("ours", port), "a")
            start = loop.time()
        assert loop.time() - start < 1.5
        await peer.expect_closed()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE", "HEARTBEAT", "OPEN"]) | json_values,
        "dst": st.sampled_from(["b", "nobody", ""]) | json_values,
        "src": json_values,
        "payload": json_values,
    },
)
frames = st.lists(
    messages.map(json.dumps) | json_values.map(json.dumps) | st.text(max_size=50) | st.binary(max_size=50),
    min_size=1, max_size=8,
)


@pytest.fixture(scope="module")
def shared_server():
    root, sub = signalling_root(max_clients=64, expire_timeout_s=0.2, sweep_interval_s=0.05)
    with app_in_thread(root) as port:
        yield Endpoint("ours", port), sub[_SIGNALLER]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=frames)
def test_fuzzed_frames_never_hurt_the_server(shared_server, frames):
    """Whatever a client sends, other clients keep being served and nothing leaks."""
    ep, signaller = shared_server

    async def scenario():
        async with aiohttp.ClientSession() as http:
            attacker, bystander = await join(http, ep, "a"), await join(http, ep, "b")
            try:
                for frame in frames:
                    if isinstance(frame, bytes):
                        await attacker.ws.send_bytes(frame)
                    else:
                        await attacker.ws.send_str(frame)
            except ConnectionError:
                pass  # the server may close the attacker (a LEAVE without dst does)
            await attacker.close()
            await bystander.close()
            await relay_works(http, ep, "fuzz")

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert len(signaller.clients) <= 2  # at most the last pair, still being unregistered
