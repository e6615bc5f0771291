"""Paid requests (docs/http-payments.md §4): one round trip, bound to the request, charged once
and only for an answer; every forged, moved or replayed header refused before the API is called
and without a change to the ledger."""

import asyncio
import json
import os

from app.channel import new_secret
from app.channel.addresses import address_script
from app.paid_http import CHANNELS_PATH, PAYMENT_HEADER
from streamium_paywall.service import GATE

from tests.paywall.conftest import PRICE, RawClient


def ledger(paywall, client):
    b = paywall_channel(paywall, client)
    return b.amount, b.spent, b.reserved


def paywall_channel(paywall, client):
    return paywall.server.app[GATE].book.get(client.k2).b


async def test_a_paid_request_is_served_with_a_receipt_signed_by_the_channel(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    status, body, receipt = await client.request("POST", "/v1/echo?x=%20y", b"hello")
    assert status == 200 and json.loads(body) == {"path": "/v1/echo?x=%20y", "body": "hello"}
    assert (receipt.status, receipt.charged, receipt.spent, receipt.signed, receipt.credit) == \
        (200, PRICE, PRICE, 294, 294 - PRICE)
    assert toy.calls == 1 and ledger(paywall, client) == (294, PRICE, 0)


async def test_an_upstream_failure_is_not_charged(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    status, body, receipt = await client.request("GET", "/v1/fail")
    assert (status, body) == (500, b"upstream broke")
    assert (receipt.charged, receipt.spent) == (0, 0) and toy.calls == 1
    assert ledger(paywall, client) == (294, 0, 0)


async def test_a_replayed_header_is_refused_without_calling_the_api(world, client):
    _, toy, paywall, session = world
    client.authorize(294)
    header = client.header("GET", "/v1/echo")
    assert (await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: header}))[0] == 200
    before = ledger(paywall, client)
    status, body, _ = await client.request("GET", "/v1/echo", headers={PAYMENT_HEADER: header})
    assert status == 409 and json.loads(body)["streamium"]["reason"] == "replayed"
    assert toy.calls == 1 and ledger(paywall, client) == before


async def test_a_header_moved_to_another_path_or_body_is_refused(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    header = client.header("GET", "/v1/echo?a=1")
    for method, target, body in (("GET", "/v1/echo?a=2", b""), ("POST", "/v1/echo?a=1", b""),
                                 ("GET", "/v1/echo?a=1", b"more")):
        status, answer, _ = await client.request(method, target, body, headers={PAYMENT_HEADER: header})
        assert status == 401 and json.loads(answer)["streamium"]["reason"] == "bad_auth"
    assert toy.calls == 0 and ledger(paywall, client) == (0, 0, 0)  # not even its payment was taken


async def test_a_stale_lower_payment_that_does_not_cover_the_use_is_refused(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    first_sig = client.v.pay_sig
    for _ in range(3):
        assert (await client.request("GET", "/v1/echo"))[0] == 200
    client.authorize(600)
    before = ledger(paywall, client)
    status, answer, _ = await client.request("GET", "/v1/echo")  # the new payment is taken
    assert status == 200 and ledger(paywall, client)[:2] == (600, 4 * PRICE)
    # a payment lower than the one held, K1-signed, but not covering what was spent: refused
    status, answer, _ = await client.request("GET", "/v1/echo", amount=4 * PRICE + 5, voucher=first_sig)
    assert status == 402 and json.loads(answer)["streamium"]["reason"] == "stale_voucher"
    assert toy.calls == 4 and ledger(paywall, client) == (600, 4 * PRICE, 0)
    assert before[0] == 294


async def test_a_payment_signature_for_another_amount_is_refused(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    sig_294 = client.v.pay_sig
    status, answer, _ = await client.request("GET", "/v1/echo", amount=5000, voucher=sig_294)
    assert status == 400 and json.loads(answer)["streamium"]["reason"] == "bad_payment"
    assert toy.calls == 0 and ledger(paywall, client) == (0, 0, 0)


async def test_no_request_is_served_beyond_the_signed_credit(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    served = 0
    while True:
        status, answer, _ = await client.request("GET", "/v1/echo")
        if status != 200:
            break
        served += 1
    assert served == 294 // PRICE
    state = json.loads(answer)["streamium"]
    assert (status, state["reason"], state["signed"], state["spent"]) == (402, "no_credit", 294, served * PRICE)
    assert toy.calls == served


async def test_fifty_parallel_requests_on_one_channel_are_all_served_and_charged_once(world, client):
    _, toy, paywall, _ = world
    client.authorize(50 * PRICE)
    answers = await asyncio.gather(*(client.request("GET", f"/v1/slow?s=0.05&i={i}") for i in range(50)))
    assert [a[0] for a in answers] == [200] * 50
    assert sorted(a[2].spent for a in answers) == [PRICE * (i + 1) for i in range(50)]
    assert toy.calls == 50 and ledger(paywall, client) == (50 * PRICE, 50 * PRICE, 0)


async def test_a_retry_with_the_same_idempotency_key_gets_the_stored_answer_not_a_second_charge(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    key = {"Idempotency-Key": "order-7"}
    first = await client.request("POST", "/v1/echo", b"buy", headers=key)
    again = await client.request("POST", "/v1/echo", b"buy", headers=key)  # a new header, the same key
    assert first[:2] == again[:2] and (first[2].seq, first[2].charged) == (1, PRICE)
    assert (again[2].seq, again[2].charged, again[2].spent, again[2].status) == (2, 0, PRICE, 200)  # its own receipt
    assert toy.calls == 1 and ledger(paywall, client)[1] == PRICE
    other = await client.request("POST", "/v1/echo", b"sell", headers=key)
    assert other[0] == 422 and toy.calls == 1


async def test_a_retry_while_the_first_request_under_its_key_runs_is_told_to_wait(world, client):
    _, toy, paywall, _ = world
    client.authorize(294)
    key = {"Idempotency-Key": "order-8"}
    first = asyncio.ensure_future(client.request("GET", "/v1/slow?s=0.5", headers=key))
    await asyncio.sleep(0.2)
    again, other = await asyncio.gather(client.request("GET", "/v1/slow?s=0.5", headers=key),
                                        client.request("GET", "/v1/slow?s=0.1", headers=key))
    assert (again[0], json.loads(again[1])["streamium"]["reason"]) == (409, "in_progress")  # the same: wait
    assert (other[0], json.loads(other[1])["streamium"]["reason"]) == (422, "idempotency_conflict")  # another
    assert (await first)[0] == 200 and toy.calls == 1


async def test_a_strangers_close_is_refused_and_the_clients_exact_close_pays_what_was_spent(world, client):
    devnet, toy, paywall, session = world
    client.authorize(1000)
    answers = await asyncio.gather(*(client.request("GET", "/v1/echo") for _ in range(40)))
    assert [a[0] for a in answers] == [200] * 40
    stranger = RawClient(session, paywall.url, devnet)
    status, answer = await stranger.post(f"{CHANNELS_PATH}/{client.k2}", {"v": 2, "type": "close"})
    assert status == 401 and paywall_channel(paywall, client).state == "open"
    forged = {PAYMENT_HEADER: stranger_header(client)}
    status, answer = await stranger.post(f"{CHANNELS_PATH}/{client.k2}", {"v": 2, "type": "close"}, forged)
    assert status == 401 and paywall_channel(paywall, client).state == "open"

    status, closed = await client.close(40 * PRICE)
    assert (status, closed["type"]) == (200, "closed"), closed
    settlement = devnet.mempool.entries[closed["txid"]].tx
    outputs = {o.script_pubkey.data.hex(): o.value for o in settlement.vout}
    channel = client.v.channel
    assert outputs == {address_script(paywall.payout, "regtest").hex(): 40 * PRICE,
                       channel.change_script.hex(): channel.value - 40 * PRICE - channel.close_fee}
    devnet.mine(1)  # libbitcoinkernel connects the block: T1 and the settlement are valid
    assert devnet.chain.coin(closed["txid"], 0).value == 40 * PRICE


def stranger_header(client):
    """A well-formed header for the close, made with a key that is not the channel's."""
    from app.paid_http import Payment, request_key
    return Payment.make(request_key(new_secret(os.urandom), client.k2), client.k2, 999, client.v.amount, client.v.pay_sig, "POST",
                        f"{CHANNELS_PATH}/{client.k2}", b'{"v": 2, "type": "close"}').header()
