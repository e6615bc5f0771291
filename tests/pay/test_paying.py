"""PayingClient against the real paywall in front of the toy API, on the real devnet: a paid
request end to end, every refusal before anything is signed, the close and the refund; and,
through a front that makes the paywall lie, every bad receipt stopping the channel."""

import asyncio
import json
import threading

import pytest

from app.channel import states
from app.channel import transactions as txs
from app.paid_http import CHANNELS_PATH
from streamium_pay import file_writer
from streamium_pay import (BadAnswer, BudgetExceeded, InsufficientFunds, PayError, PriceRefused, ServerRefused,
                           chain_round)
from streamium_pay.cli import fetch_quote
from streamium_pay.opening import open_channel
from tests.paywall.conftest import PRICE

LOCK_S = 3600  # a refund time the devnet's clock can pass (it runs at most 6600 s ahead)


async def paid_requests(world, count, **options):
    """A funded wallet's client that made `count` paid requests, and its one channel."""
    world.fund()
    client = world.client(**options)
    for _ in range(count):
        await client.get(world.origin + "/v1/echo")
    return client, channel_of(world)


def channel_of(world):
    (entry,) = world.wallet.channels.values()
    return entry


async def test_a_paid_request_opens_a_channel_pays_and_verifies_its_receipt(world):
    world.fund()
    client = world.client()
    answer = await client.get(world.origin + "/v1/echo?x=a%20b")
    assert answer.status == 200 and answer.json() == {"path": "/v1/echo?x=a%20b", "body": ""}
    assert answer.receipt.charged == PRICE and answer.receipt.spent == PRICE
    entry = channel_of(world)
    assert entry.viewer.state == states.OPEN and entry.viewer.amount == 294, "min_payment_sat, 8 requests ahead"
    free = await client.get(world.origin + "/health")
    assert free.receipt is None and free.text() == "ok"
    assert len(world.book.live) == 1 and world.toy.calls == 1


async def test_parallel_requests_share_one_channel_and_the_voucher_stays_ahead_of_those_in_flight(world):
    world.fund()
    client = world.client(prepay=4)
    await client.get(world.origin + "/v1/echo")
    answers = await asyncio.gather(*(client.get(world.origin + f"/v1/echo?i={i}") for i in range(40)))
    assert all(a.status == 200 and a.receipt.charged == PRICE for a in answers)
    entry = channel_of(world)
    assert entry.spent == 41 * PRICE and len(world.book.live) == 1
    assert entry.viewer.amount <= 41 * PRICE + 4 * 40 * PRICE + 294, "at most 4 x the requests in flight ahead"
    seqs = {a.receipt.seq for a in answers}
    assert len(seqs) == 40


async def test_no_voucher_reaches_the_server_before_the_wallet_file_holds_it(world, monkeypatch):
    client, entry = await paid_requests(world, 1, prepay=4)
    gate, written = threading.Event(), file_writer.write_atomically
    monkeypatch.setattr(file_writer, "write_atomically", lambda path, data: (gate.wait(30), written(path, data)))
    requests = asyncio.gather(*(client.get(world.origin + f"/v1/echo?i={i}") for i in range(60)))
    await asyncio.sleep(1)  # the loop serves whatever the voucher on disk covers; the disk is stuck
    on_disk = json.loads(world.wallet_path.read_text())["channels"][0]["record"]["amount"]
    assert entry.viewer.amount > on_disk, "a voucher was signed while the disk was stuck"
    assert world.book.get(entry.channel_key).b.amount <= on_disk, "the paywall holds only what the file holds"
    assert 1 < world.toy.calls < 61, "requests the stored voucher covers went on meanwhile"
    gate.set()
    assert all(a.status == 200 for a in await requests)


async def test_close_settles_on_what_was_spent_and_the_change_comes_home(world):
    client, entry = await paid_requests(world, 3)
    assert entry.viewer.amount == 294 and entry.spent == 3 * PRICE
    txid = await client.close_channel(world.origin)
    paid, change = await world.settled(txid)
    assert paid == [294], "v2 §F: at least min_payment_sat, no more (30 sat were spent)"
    assert change, "change to the wallet"
    assert entry.viewer.state == states.CLOSING and entry.retired
    assert await client.close_channel(world.origin) == txid, "closing again (a lost answer) changes nothing"


async def test_a_close_short_of_what_the_server_charged_is_signed_again_for_its_spent_total(world):
    client, entry = await paid_requests(world, 35)
    assert entry.spent == 35 * PRICE and entry.viewer.amount > 35 * PRICE
    entry.spent -= 3 * PRICE  # the last three receipts lost: the client knows of 320 sat spent, the server 350
    paid, change = await world.settled(await client.close_channel(world.origin))
    closes = [status for _, path, status in world.answers if path == f"{CHANNELS_PATH}/{entry.channel_key}"]
    assert closes == [200, 200, 409, 200], "open, commit, the close refused (close_not_exact), signed again once"
    assert paid == [35 * PRICE] and change, "settled on exactly the server's spent"
    assert entry.spent == 35 * PRICE


async def test_close_with_nothing_paid_publishes_the_released_refund(world):
    """A channel opened whose first request was never sent (the run stopped in between)."""
    world.fund()
    client = world.client()
    _, quote = await fetch_quote(world.session, world.origin + "/v1/echo", "regtest")
    entry = await open_channel(client.control, world.origin, quote, None, None)
    assert entry.viewer.state == states.OPEN and entry.viewer.amount == 0
    txid = await client.close_channel(world.origin)
    outputs = await world.api.tx_outputs(txid)
    assert [bytes.fromhex(s) for s, _ in outputs] == [world.wallet.script], "T3(0): everything back"


async def test_a_price_above_max_price_is_refused_before_any_channel_or_signature(world):
    world.fund()
    with pytest.raises(PriceRefused, match="more than the --max-price of 9 sat"):
        await world.client(max_price=PRICE - 1).get(world.origin + "/v1/echo")
    assert not world.book.live and not world.wallet.channels


@pytest.mark.paywall(min_deposit_sat=250_000)
async def test_a_large_deposit_is_locked_only_when_the_user_asked_for_it(world):
    world.fund(400_000)
    with pytest.raises(PayError, match="asks a deposit of at least 250000 sat"):
        await world.client().get(world.origin + "/v1/echo")
    assert not world.book.live and not world.wallet.channels
    assert (await world.client(deposit=250_000).get(world.origin + "/v1/echo")).status == 200


async def test_a_budget_too_small_for_the_first_payment_opens_no_channel(world):
    world.fund()
    with pytest.raises(BudgetExceeded):
        await world.client(budget=293).get(world.origin + "/v1/echo")
    assert not world.book.live and not world.wallet.channels


async def test_the_budget_stops_signing_before_it_is_exceeded(world):
    client, entry = await paid_requests(world, 30, budget=300)
    with pytest.raises(BudgetExceeded, match="budget of 300 sat"):
        await client.get(world.origin + "/v1/echo")
    assert entry.viewer.amount == client.signed == 300 and world.toy.calls == 30


@pytest.mark.parametrize("cheat, words", [
    ("other_key", "not K2's signature"), ("other_body", "not K2's signature"),
    ("overcharge", "charges 11 sat"), ("no_receipt", "without a receipt"),
])
async def test_a_bad_receipt_stops_the_channel(world, liar, cheat, words):
    world.fund()
    client = world.client()
    await client.get(liar.origin + "/v1/echo")
    liar.cheat = cheat
    with pytest.raises(BadAnswer, match=words):
        await client.get(liar.origin + "/v1/echo")
    assert channel_of(world).retired, "no more requests on a channel whose server cheats"


async def test_a_new_process_reuses_the_channel_without_reusing_a_sequence_number(world):
    world.fund()
    first = await world.client().get(world.origin + "/v1/echo")
    world.reopen()
    again = await world.client().get(world.origin + "/v1/echo")
    assert again.receipt.seq >= first.receipt.seq + 1000 and len(world.book.live) == 1
    assert again.receipt.channel == first.receipt.channel and again.receipt.spent == 2 * PRICE


@pytest.mark.paywall(refund_lock_s=LOCK_S)
async def test_the_refund_is_published_after_the_lock_time_when_the_server_vanished(world):
    world.fund()
    await world.client().get(world.origin + "/v1/echo")
    await world.paywall.stop()  # gone for good, before it could settle
    v = channel_of(world).viewer
    lock, funding = v.channel.lock_time, v.channel.funding
    await chain_round(world.wallet, world.api, lock - 60)
    assert v.state == states.OPEN and await world.api.outspend(funding.txid, funding.vout) is None
    world.devnet.mine(12, advance_s=LOCK_S + 400)  # the chain's median time passes L
    await chain_round(world.wallet, world.api, lock + 1)
    assert v.state == states.EXPIRED
    refund = txs.txid(txs.parse_tx(v.refund_tx, "bad_message"))
    assert await world.api.outspend(funding.txid, funding.vout) == refund
    world.devnet.mine(1)
    await chain_round(world.wallet, world.api, lock + 2)
    assert world.reopen().channels[channel_of(world).channel_key].viewer.state == states.SETTLING


async def test_without_coins_nothing_is_asked_of_the_server_and_the_address_to_fund_is_named(world):
    with pytest.raises(InsufficientFunds, match=f"send at least .* sat to {world.wallet.address}"):
        await world.client().get(world.origin + "/v1/echo")
    assert not world.book.live and not world.wallet.channels


async def test_a_refused_open_sweeps_the_deposit_home(world, liar):
    world.fund()
    liar.cheat = "refuse_open"
    with pytest.raises(ServerRefused, match="bad_funding"):
        await world.client().get(liar.origin + "/v1/echo")
    entry = channel_of(world)
    assert entry.viewer.state == states.CLOSED and entry.viewer.end_reason == "abandoned"
    assert not await world.api.address_utxos(entry.viewer.funding_address), "swept"
    assert sum(c.value for c in await world.api.address_utxos(world.wallet.address)) > 199_000


async def test_a_channel_the_server_closed_is_retired_and_a_new_one_opened(world):
    world.fund()
    client = world.client()
    await client.get(world.origin + "/v1/echo")
    first = channel_of(world)
    idle = world.book.get(first.channel_key)
    async with idle.control:  # the paywall's watch, once the channel has been idle for idle_close_s
        await world.book.check(idle, world.book.now() + world.book.options.idle_close_s)
    assert idle.b.state in (states.CLOSING, states.SETTLING), "settled: T3 is out"
    answer = await client.get(world.origin + "/v1/echo")
    assert answer.status == 200 and answer.receipt.channel != first.channel_key
    assert first.retired == "the server says closed" and len(world.wallet.channels) == 2
    assert [k2 for k2, e in world.book.live.items() if e.b.state == states.OPEN] == [answer.receipt.channel]


@pytest.mark.paywall(max_unconfirmed_sat=300)
async def test_credit_beyond_max_unconfirmed_waits_for_the_funding_to_confirm(world):
    client, _ = await paid_requests(world, 30)

    async def confirm_soon():
        await asyncio.sleep(0.5)
        world.devnet.mine(1)
    confirming = asyncio.create_task(confirm_soon())
    answer = await client.get(world.origin + "/v1/echo")
    await confirming
    assert answer.status == 200 and answer.receipt.spent == 31 * PRICE
    assert any("for the funding transaction to confirm" in s for s in world.said)
