"""PayingClient against the paywall double on the real devnet: a paid request end to end, and
every refusal before anything is signed."""

import asyncio
import dataclasses

import pytest

from app.channel import states
from app.channel import transactions as txs
from streamium_pay import BadAnswer, BudgetExceeded, InsufficientFunds, PriceRefused, ServerRefused, chain_round

from .paywall_double import PRICE


def channel_of(world):
    (entry,) = world.wallet.channels.values()
    return entry


async def test_a_paid_request_opens_a_channel_pays_and_verifies_its_receipt(world):
    world.fund()
    client = world.client()
    answer = await client.get(world.origin + "/v1/hello?x=a%20b")
    assert answer.status == 200 and answer.body == b"paid /v1/hello"
    assert answer.receipt.charged == PRICE and answer.receipt.spent == PRICE
    entry = channel_of(world)
    assert entry.viewer.state == states.OPEN and entry.viewer.amount == 294, "min_payment_sat, 8 requests ahead"
    assert (await client.get(world.origin + "/free")).receipt is None
    assert world.double.hellos == 1



async def test_parallel_requests_share_one_channel_and_the_voucher_stays_a_few_requests_ahead(world):
    world.fund()
    client = world.client(prepay=4)
    await client.get(world.origin + "/v1/first")
    answers = await asyncio.gather(*(client.get(world.origin + f"/v1/{i}") for i in range(40)))
    assert all(a.status == 200 and a.receipt.charged == PRICE for a in answers)
    entry = channel_of(world)
    assert entry.spent == 41 * PRICE and world.double.hellos == 1
    assert entry.viewer.amount <= 41 * PRICE + 4 * PRICE + 294, "never more than prepay ahead of what was sent"
    seqs = {a.receipt.seq for a in answers}
    assert len(seqs) == 40


async def test_close_settles_on_what_was_spent_and_the_change_comes_home(world):
    world.fund()
    client = world.client()
    for _ in range(3):
        await client.get(world.origin + "/v1/x")
    entry = channel_of(world)
    assert entry.viewer.amount == 294 and entry.spent == 3 * PRICE
    txid = await client.close_channel(world.origin)
    outputs = await world.api.tx_outputs(txid)
    paid = [value for script, value in outputs if bytes.fromhex(script) == world.double.terms.payout_script]
    assert paid == [294], "v2 §F: at least min_payment_sat, no more (30 sat were spent)"
    assert any(bytes.fromhex(script) == world.wallet.script for script, _ in outputs), "change to the wallet"
    assert entry.viewer.state == states.CLOSING and entry.retired


async def test_close_with_nothing_paid_publishes_the_released_refund(world):
    world.fund()
    client = world.client()
    await client.get(world.origin + "/v1/x")
    entry = channel_of(world)
    entry.viewer.amount, entry.viewer.pay_sig = 0, None  # as if the first request had never been paid
    world.double.channels[entry.channel_key].amount = 0
    txid = await client.close_channel(world.origin)
    outputs = await world.api.tx_outputs(txid)
    assert [bytes.fromhex(s) for s, _ in outputs] == [world.wallet.script], "T3(0): everything back"


async def test_a_price_above_max_price_is_refused_before_any_channel_or_signature(world):
    world.fund()
    with pytest.raises(PriceRefused, match="more than the --max-price of 9 sat"):
        await world.client(max_price=PRICE - 1).get(world.origin + "/v1/x")
    assert world.double.hellos == 0 and not world.wallet.channels


async def test_a_budget_too_small_for_the_first_payment_opens_no_channel(world):
    world.fund()
    with pytest.raises(BudgetExceeded):
        await world.client(budget=293).get(world.origin + "/v1/x")
    assert world.double.hellos == 0 and not world.wallet.channels


async def test_the_budget_stops_signing_before_it_is_exceeded(world):
    world.fund()
    client = world.client(budget=300)
    for _ in range(30):
        await client.get(world.origin + "/v1/x")
    entry = channel_of(world)
    with pytest.raises(BudgetExceeded, match="budget of 300 sat"):
        await client.get(world.origin + "/v1/x")
    assert entry.viewer.amount == client.signed == 300


@pytest.mark.parametrize("cheat, words", [
    ("other_key", "not K2's signature"), ("other_body", "not K2's signature"),
    ("overcharge", "charges 11 sat"), ("no_receipt", "without a receipt"),
])
async def test_a_bad_receipt_stops_the_channel(world, cheat, words):
    world.fund()
    client = world.client()
    await client.get(world.origin + "/v1/x")
    world.double.cheat = cheat
    with pytest.raises(BadAnswer, match=words):
        await client.get(world.origin + "/v1/x")
    assert channel_of(world).retired, "no more requests on a channel whose server cheats"


async def test_a_new_process_reuses_the_channel_without_reusing_a_sequence_number(world):
    world.fund()
    first = await world.client().get(world.origin + "/v1/x")
    world.reopen()
    again = await world.client().get(world.origin + "/v1/x")
    assert again.receipt.seq >= first.receipt.seq + 1000 and world.double.hellos == 1


async def test_the_refund_is_published_after_the_lock_time_when_the_server_vanished(world):
    world.fund()
    await world.client().get(world.origin + "/v1/x")
    v = channel_of(world).viewer
    lock, funding = v.channel.lock_time, v.channel.funding
    await chain_round(world.wallet, world.api, lock - 60)
    assert v.state == states.OPEN and await world.api.outspend(funding.txid, funding.vout) is None
    world.devnet.mine(12, advance_s=4000)  # the chain's median time passes L
    await chain_round(world.wallet, world.api, lock + 1)
    assert v.state == states.EXPIRED
    refund = txs.txid(txs.parse_tx(v.refund_tx, "bad_message"))
    assert await world.api.outspend(funding.txid, funding.vout) == refund
    await chain_round(world.wallet, world.api, lock + 2)
    assert world.reopen().channels[channel_of(world).channel_key].viewer.state == states.SETTLING


async def test_without_coins_nothing_is_asked_of_the_server_and_the_address_to_fund_is_named(world):
    with pytest.raises(InsufficientFunds, match=f"send at least .* sat to {world.wallet.address}"):
        await world.client().get(world.origin + "/v1/x")
    assert world.double.hellos == 0 and not world.wallet.channels


async def test_a_refused_open_sweeps_the_deposit_home(world):
    world.fund()
    world.double.cheat = "refuse_open"
    with pytest.raises(ServerRefused, match="bad_funding"):
        await world.client().get(world.origin + "/v1/x")
    entry = channel_of(world)
    assert entry.viewer.state == states.CLOSED and entry.viewer.end_reason == "abandoned"
    assert not await world.api.address_utxos(entry.viewer.funding_address), "swept"
    assert sum(c.value for c in await world.api.address_utxos(world.wallet.address)) > 199_000


async def test_a_channel_the_server_closed_is_retired_and_a_new_one_opened(world):
    world.fund()
    client = world.client()
    await client.get(world.origin + "/v1/x")
    first = channel_of(world)
    world.double.channels[first.channel_key].state = states.CLOSING
    answer = await client.get(world.origin + "/v1/x")
    assert answer.status == 200 and answer.receipt.channel != first.channel_key
    assert first.retired == "the server says closed" and world.double.hellos == 2


async def test_credit_beyond_max_unconfirmed_waits_for_the_funding_to_confirm(world):
    world.fund()
    world.double.terms = dataclasses.replace(world.double.terms, max_unconfirmed_sat=300)
    client = world.client()
    for _ in range(30):
        await client.get(world.origin + "/v1/x")
    b = world.double.channels[channel_of(world).channel_key]

    async def confirm_soon():
        await asyncio.sleep(0.5)
        b.tx_confirmations(b.channel.funding.txid, 1, 0)
    confirming = asyncio.create_task(confirm_soon())
    answer = await client.get(world.origin + "/v1/x")
    await confirming
    assert answer.status == 200 and any("for the funding transaction to confirm" in s for s in world.said)
