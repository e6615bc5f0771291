"""What the paywall does over a channel's life: it survives restarts, bounds what an unconfirmed
funding may carry, limits each channel's rate without charging, and settles idle channels."""

import json

from streamium_paywall.book import Options
from app.paid_http import CHANNELS_PATH
from streamium_paywall.service import GATE

from tests.paywall.conftest import PRICE, RawClient, another_paywall


def book(paywall):
    return paywall.server.app[GATE].book


async def test_a_restart_mid_channel_loses_nothing(world, client):
    devnet, toy, paywall, session = world
    client.authorize(294)
    for _ in range(3):
        assert (await client.request("GET", "/v1/echo"))[0] == 200
    used = client.header("GET", "/v1/echo")
    assert (await client.request("GET", "/v1/echo", headers={"Streamium-Payment": used}))[0] == 200
    await paywall.stop()
    await paywall.start()
    client.base = paywall.url
    b = book(paywall).get(client.k2).b
    assert (b.state, b.amount, b.spent) == ("open", 294, 4 * PRICE)
    status, _, _ = await client.request("GET", "/v1/echo", headers={"Streamium-Payment": used})
    assert status == 409  # sequence numbers used before the restart stay used
    status, _, receipt = await client.request("GET", "/v1/echo")
    assert status == 200 and receipt.spent == 5 * PRICE and toy.calls == 5


async def test_an_unconfirmed_funding_carries_no_more_than_max_unconfirmed_sat(world):
    devnet, toy, paywall, session = world
    limit = book(paywall).terms.max_unconfirmed_sat
    client = await RawClient(session, paywall.url, devnet).open(mine=False)
    client.authorize(limit + 10 * PRICE)
    served = 0
    while (answer := await client.request("GET", "/v1/echo"))[0] == 200:
        served += 1
    assert served == limit // PRICE
    assert answer[0] == 402 and json.loads(answer[1])["streamium"]["reason"] == "unconfirmed"
    devnet.mine(1)
    await book(paywall).check(book(paywall).get(client.k2), book(paywall).now() + 60)  # the chain round sees it
    assert (await client.request("GET", "/v1/echo"))[0] == 200


async def test_a_channel_over_its_rate_gets_429_and_is_not_charged(tmp_path, world):
    devnet, toy, paywall, session = world
    async with another_paywall(world, tmp_path / "limited", Options(buried=1, rate_limit=2)) as limited:
        client = await RawClient(session, limited.url, devnet).open()
        client.authorize(294)
        answers = [await client.request("GET", "/v1/echo") for _ in range(8)]
        statuses = [a[0] for a in answers]
        assert statuses.count(429) >= 3 and statuses[:4] == [200] * 4  # a burst of twice the rate
        assert book(limited).get(client.k2).b.spent == statuses.count(200) * PRICE


async def test_an_idle_channel_is_settled_on_the_payment_held(tmp_path, world):
    devnet, toy, paywall, session = world
    async with another_paywall(world, tmp_path / "idle", Options(buried=1, idle_close_s=60)) as idle:
        client = await RawClient(session, idle.url, devnet).open()
        client.authorize(294)
        assert (await client.request("GET", "/v1/echo"))[0] == 200
        entry = book(idle).get(client.k2)
        await book(idle).check(entry, book(idle).now() + 61)
        assert entry.b.state == "settling" and entry.b.closing_txid in devnet.mempool.entries
        assert (await client.request("GET", "/v1/echo"))[0] == 410


async def test_metrics_show_revenue_channels_credit_and_time_to_settle(world, client):
    _, _, paywall, session = world
    client.authorize(294)
    for _ in range(3):
        assert (await client.request("GET", "/v1/echo"))[0] == 200
    async with session.get(paywall.url + "/metrics") as r:
        text = await r.text()
    assert r.headers["Content-Type"].startswith("text/plain")
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert lines["streamium_paywall_revenue_sat_total"] == str(3 * PRICE)
    assert lines['streamium_paywall_channels{state="open"}'] == "1"
    assert lines["streamium_paywall_outstanding_credit_sat"] == str(294 - 3 * PRICE)
    assert 0 < int(lines["streamium_paywall_seconds_to_settle"]) <= 86_400
    assert lines['streamium_paywall_requests_total{result="charged"}'] == "3"


async def test_no_more_channels_than_max_channels_are_opened(tmp_path, world):
    devnet, _, _, session = world
    async with another_paywall(world, tmp_path / "small", Options(buried=1, max_channels=1)) as small:
        await RawClient(session, small.url, devnet).open()
        status, answer = await RawClient(session, small.url, devnet).post(CHANNELS_PATH, {"v": 2, "type": "hello"})
        assert status == 503 and answer["streamium"]["reason"] == "too_many_channels"
