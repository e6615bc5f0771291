"""What a stranger or a broken client can try against the paywall (an adversarial review's
findings): every one answered with a clear 4xx, none charging anyone or serving anything free."""

import asyncio
import json
from urllib.parse import urlsplit

from app.channel.actions import Persist
from app.paid_http import CHANNELS_PATH, PAYMENT_HEADER
from streamium_paywall.book import Options
from streamium_paywall.service import GATE

from tests.paywall.conftest import PRICE, PaywallUnderTest, RawClient, another_paywall


def book(paywall):
    return paywall.server.app[GATE].book


async def raw_get(url, target):
    """The request line exactly as written: HTTP clients tidy `..` and escapes away."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def test_a_header_refused_once_is_used_up_and_never_works_later(tmp_path, world):
    devnet, toy, _, session = world
    async with another_paywall(world, tmp_path / "slow", Options(buried=1, rate_limit=1)) as paywall:
        client = await RawClient(session, paywall.url, devnet).open()
        client.authorize(294)
        statuses = []
        for _ in range(3):
            header = client.header("GET", "/v1/echo")
            statuses.append((await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: header}))[0])
        assert statuses == [200, 200, 429]
        await asyncio.sleep(1.1)  # the rate allows a request again: the refused header still does not pass
        assert (await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: header}))[0] == 409
        assert toy.calls == 2 and book(paywall).get(client.k2).b.spent == 2 * PRICE


async def test_a_stranger_replaying_old_headers_does_not_use_up_the_clients_rate(tmp_path, world):
    devnet, toy, _, session = world
    async with another_paywall(world, tmp_path / "rate", Options(buried=1, rate_limit=5)) as paywall:
        client = await RawClient(session, paywall.url, devnet).open()
        client.authorize(294)
        used = client.header("GET", "/v1/echo")
        assert (await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: used}))[0] == 200
        for _ in range(20):
            assert (await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: used}))[0] == 409
        assert [(await client.request("GET", "/v1/echo"))[0] for _ in range(4)] == [200] * 4


async def test_targets_that_could_name_another_path_are_refused_before_pricing(world):
    _, toy, paywall, _ = world
    for target in ("/health/../v1/echo", "/health/%2e%2e/v1/echo", "/v1/a%2Fb", "/v1//echo", "/v1/a%5cb",
                   "http://elsewhere.example/health"):
        assert await raw_get(paywall.url, target) == 400, target
    assert await raw_get(paywall.url, "/health") == 200 and toy.calls == 0


async def test_an_older_copy_of_a_channel_never_replaces_the_newer_one_in_the_database(world, client):
    _, _, paywall, _ = world
    entry = book(paywall).get(client.k2)
    old = entry.b.record()  # as a chain round might have made it before these requests
    client.authorize(294)
    for _ in range(3):
        assert (await client.request("GET", "/v1/echo"))[0] == 200
    await book(paywall).carry_out(entry, [Persist(old)])
    stored = {k2: record for k2, record, _, _ in book(paywall).store.channels()}[client.k2]
    assert (stored["amount"], stored["spent"]) == (294, 3 * PRICE)


async def test_a_close_waits_for_the_requests_in_flight_and_settles_on_every_charge(world, client):
    _, toy, paywall, _ = world
    client.authorize(1000)
    assert [a[0] for a in await asyncio.gather(*(client.request("GET", "/v1/echo") for _ in range(30)))] == [200] * 30
    slow = asyncio.ensure_future(client.request("GET", "/v1/slow?s=0.5"))
    await asyncio.sleep(0.1)
    closing = asyncio.ensure_future(client.close(31 * PRICE))  # those served and the one in flight
    await asyncio.sleep(0.1)
    late = await client.request("GET", "/v1/echo")  # no request is admitted once a close waits
    status, closed = await closing
    assert (await slow)[0] == 200 and late[0] == 410
    assert (status, closed["type"], closed["amount"], closed["spent"]) == (200, "closed", 31 * PRICE, 31 * PRICE)


async def test_offers_nobody_takes_up_give_way_and_one_address_cannot_ask_for_many(tmp_path, world):
    devnet, _, _, session = world
    async with another_paywall(world, tmp_path / "offers", Options(buried=1, max_channels=2)) as paywall:
        asker = RawClient(session, paywall.url, devnet)
        answers = [await asker.post(CHANNELS_PATH, {"v": 2, "type": "hello"}) for _ in range(11)]
        assert [a[0] for a in answers] == [201] * 10 + [503]
        assert "this address" in answers[-1][1]["detail"]
        offered = [k2 for k2, e in book(paywall).live.items() if e.b.state == "offered"]
        assert len(offered) == 2 and answers[0][1]["channel_pubkey"] not in offered  # the oldest gave way
        book(paywall).hellos.clear()
        await RawClient(session, paywall.url, devnet).open()  # a real client still gets its channel


async def test_a_head_request_has_a_receipt_for_the_body_it_did_not_get(world, client):
    client.authorize(294)
    status, body, receipt = await client.request("HEAD", "/v1/echo")  # verified over b"" by the client
    assert (status, body, receipt.charged) == (200, b"", PRICE)


async def test_a_free_path_whose_api_is_down_gets_a_clear_502(tmp_path, world):
    _, _, paywall, session = world
    down = await PaywallUnderTest(tmp_path / "down", paywall.esplora_url, "http://127.0.0.1:9").start()
    try:
        async with session.get(down.url + "/health") as r:
            assert r.status == 502 and json.loads(await r.text())["streamium"]["reason"] == "upstream_failed"
    finally:
        await down.stop()
