"""The 402 quote and the control plane (docs/http-payments.md §2-§3)."""

import json

from app.paid_http import CHANNELS_PATH

from tests.paywall.conftest import PRICE, RawClient


async def test_an_unpaid_request_to_a_priced_route_gets_a_402_quote_and_never_reaches_the_api(world):
    devnet, toy, paywall, session = world
    async with session.get(paywall.url + "/v1/echo?q=1") as r:
        assert r.status == 402
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.headers["WWW-Authenticate"] == f'Streamium channels="{CHANNELS_PATH}"'
        quote = json.loads(await r.text())["streamium"]
    assert (quote["price_sat"], quote["route"], quote["network"]) == (PRICE, "* /v1/*", "regtest")
    assert quote["terms"]["payout_address"] == paywall.payout
    assert quote["terms"]["close_fee_sat"] > 0 and len(quote["identity_pubkey"]) == 66
    assert toy.calls == 0


async def test_free_paths_pass_and_unlisted_paths_are_refused(world):
    _, toy, paywall, session = world
    async with session.get(paywall.url + "/health") as r:
        assert (r.status, await r.text()) == (200, "ok")
    async with session.get(paywall.url + "/admin") as r:
        assert r.status == 403
    assert toy.calls == 0


async def test_a_channel_opens_with_the_refund_signed_before_the_funding(world):
    devnet, _, paywall, session = world
    client = await RawClient(session, paywall.url, devnet).open()
    assert client.v.refund_tx and client.v.funding_tx
    assert devnet.mempool.entries.get(client.v.channel.funding.txid) is not None  # the paywall published T1
