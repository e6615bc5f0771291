"""Ours only: a removed client's signalling partners hear LEAVE from it.

peer 1.0.2 tells nobody when a client goes away (test_protocol checks both
servers); our server sends ``{"type":"LEAVE","src":gone,"dst":partner}`` to
every connected client that exchanged OFFER/ANSWER/CANDIDATE with it.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from streamium_server.signalling import MAX_PARTNERS, _Client
from tests.signalling.support import connect, join
from tests.signalling.test_limits import ours


def leave(src: str, dst: str) -> dict[str, str]:
    return {"type": "LEAVE", "src": src, "dst": dst}


@pytest.mark.parametrize("kind", ["OFFER", "ANSWER", "CANDIDATE"])
@pytest.mark.parametrize("sender", ["leaver", "stayer"])
async def test_closed_socket_sends_leave_to_partner(kind: str, sender: str):
    async with ours() as (ep, signaller), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        if sender == "leaver":
            await pa.send(type=kind, dst="b", payload=1)
            assert (await pb.recv())["src"] == "a"
        else:
            await pb.send(type=kind, dst="a", payload=1)
            assert (await pa.recv())["src"] == "b"
        await pa.close()
        assert await pb.recv() == leave("a", "b")
        await pb.expect_silence(0.3)  # exactly one
        assert "a" not in signaller.clients and "a" not in signaller.clients["b"].partners


async def test_only_partners_hear_leave():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb, pc = await join(http, ep, "a"), await join(http, ep, "b"), await join(http, ep, "c")
        await pa.send(type="OFFER", dst="b", payload=1)
        await pb.recv()
        await pc.send(type="LEAVE", dst="a")  # relayed LEAVE/EXPIRE make no partners
        await pc.send(type="EXPIRE", dst="a")
        assert [(await pa.recv())["type"] for _ in range(2)] == ["LEAVE", "EXPIRE"]
        pd = await join(http, ep, "d")
        await pd.close()  # d never exchanged with anyone: nobody is told
        await pb.expect_silence(0.3)
        await pa.close()
        assert await pb.recv() == leave("a", "b")
        await pc.expect_silence(0.3)


async def test_same_token_reattach_is_not_a_removal():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        first = await join(http, ep, "a", token="mine")
        pb = await join(http, ep, "b")
        await first.send(type="OFFER", dst="b", payload=1)
        await pb.recv()
        second = await connect(http, ep, key="peerjs", id="a", token="mine")
        second.start_heartbeat()
        await first.expect_closed()
        await pb.expect_silence(0.5)
        # The partners survive the re-attach: closing the new socket is a removal.
        await second.close()
        assert await pb.recv() == leave("a", "b")


async def test_alive_timeout_drop_sends_leave():
    async with ours(alive_timeout_s=0.5) as (ep, signaller), aiohttp.ClientSession() as http:
        quiet, pb = await join(http, ep, "quiet", heartbeat=False), await join(http, ep, "b")
        await pb.send(type="OFFER", dst="quiet", payload=1)
        await quiet.recv()
        await quiet.expect_closed(3)
        assert await pb.recv() == leave("quiet", "b")
        await pb.expect_silence(0.3)
        assert "quiet" not in signaller.clients


async def test_leave_without_destination_tells_partners():
    async with ours() as (ep, _), aiohttp.ClientSession() as http:
        pa, pb = await join(http, ep, "a"), await join(http, ep, "b")
        await pa.send(type="CANDIDATE", dst="b", payload=1)
        await pb.recv()
        await pa.send(type="LEAVE")
        await pa.expect_closed()
        assert await pb.recv() == leave("a", "b")


async def test_delivery_from_the_queue_makes_partners():
    async with ours(expire_timeout_s=10) as (ep, _), aiohttp.ClientSession() as http:
        pa = await join(http, ep, "a")
        await pa.send(type="OFFER", dst="late", payload=1)
        await asyncio.sleep(0.1)
        late = await join(http, ep, "late")
        assert (await late.recv())["src"] == "a"
        await pa.close()
        assert await late.recv() == leave("a", "late")


async def test_dead_destination_tells_its_other_partners_and_the_sender_once():
    class DeadSocket:
        closed = True

        async def close(self) -> bool:
            return False

    async with ours() as (ep, signaller), aiohttp.ClientSession() as http:
        pa, pb, pc = await join(http, ep, "a"), await join(http, ep, "b"), await join(http, ep, "c")
        for sender, receiver in ((pa, pb), (pc, pb)):
            await sender.send(type="OFFER", dst="b", payload=1)
            await receiver.recv()
        signaller.clients["b"].ws = DeadSocket()
        await pa.send(type="CANDIDATE", dst="b", payload=2)
        assert await pa.recv() == leave("b", "a")
        assert await pc.recv() == leave("b", "c")
        await pa.expect_silence(0.3)
        await pb.close()


def test_partners_are_bounded_least_recent_first():
    client = _Client("a", "t", ws=None, last_ping=0)
    for n in range(MAX_PARTNERS + 5):
        client.add_partner(f"p{n}")
        if n == 5:
            client.add_partner("p0")  # used again: now more recent than p1..p5
    assert len(client.partners) == MAX_PARTNERS
    # The five forgotten are the least recently used ones, p1..p5, not p0.
    assert [f"p{n}" for n in range(MAX_PARTNERS + 5) if f"p{n}" not in client.partners] == [f"p{n}" for n in range(1, 6)]
