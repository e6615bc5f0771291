"""Metered channels, paid per use (the HTTP binding): the broadcaster's ledger admits a request
only within the signed credit and v2 §B's unconfirmed bound, charges only what was delivered,
and time neither pays nor closes the channel; and v2 §F's exact close, metered or by video time."""

import pytest

from app.channel import CreditRefused, states

from tests.channel.full_channel import START, Pair, channel_terms, fake_coins, open_channel, watching

PRICE = 10


def open_metered(confirmed=True, **terms):
    pair = Pair(channel_terms(**{"max_unconfirmed_sat": 500, **terms}), "metered", START, metered=True)
    open_channel(pair, 20_000, fake_coins)
    (_, t1), = pair.broadcasts
    pair.run("broadcaster", pair.broadcaster.tx_accepted(t1.txid, pair.now))
    if confirmed:
        pair.run("broadcaster", pair.broadcaster.tx_confirmations(t1.txid, 1, pair.now))
    assert pair.viewer.state == pair.broadcaster.state == states.OPEN
    return pair


def authorize(pair, amount):
    pair.run("viewer", pair.viewer.authorize(amount, pair.now))
    assert pair.broadcaster.amount == amount


def spent_on(signed, requests):
    """An open metered channel with `signed` paid and `requests` delivered."""
    pair = open_metered()
    authorize(pair, signed)
    for _ in range(requests):
        pair.broadcaster.admit(PRICE, pair.now)
        pair.broadcaster.charge(PRICE)
    return pair


def admitted_until_refused(pair) -> str:
    """Admit requests until the ledger refuses one; the reason it gives."""
    with pytest.raises(CreditRefused) as refused:
        while True:
            pair.broadcaster.admit(PRICE, pair.now)
    return refused.value.reason


def test_requests_are_admitted_while_spent_reserved_and_price_fit_in_the_signed_credit():
    pair = open_metered()
    b = pair.broadcaster
    authorize(pair, 300)
    assert admitted_until_refused(pair) == "no_credit" and b.reserved == 300
    b.release(PRICE)  # the upstream failed: that credit is free again, nothing spent
    b.charge(PRICE)
    assert (b.spent, b.reserved, b.record()["spent"]) == (PRICE, 280, PRICE)
    b.admit(PRICE, pair.now)


def test_an_unconfirmed_funding_bounds_what_is_admitted_by_max_unconfirmed_sat():
    pair = open_metered(confirmed=False)
    b = pair.broadcaster
    authorize(pair, 2000)
    assert admitted_until_refused(pair) == "unconfirmed" and b.reserved == 500
    pair.run("broadcaster", b.tx_confirmations(b.channel.funding.txid, 1, pair.now))
    b.admit(PRICE, pair.now)


def test_time_neither_pays_nor_closes_a_metered_channel_until_its_settle_time():
    pair = open_metered()
    v, b = pair.viewer, pair.broadcaster
    authorize(pair, 300)
    for _ in range(60):
        pair.step(30)
    assert (v.amount, b.state, pair.media) == (300, states.OPEN, True)
    pair.now = b.channel.settle_at
    pair.run("broadcaster", b.tick(pair.now))
    assert b.state == states.CLOSING and b.end_reason == "expiring"
    with pytest.raises(CreditRefused):
        b.admit(PRICE, pair.now)


def test_an_exact_close_settles_on_what_was_spent_and_nothing_less():
    pair = spent_on(2000, 40)
    b = pair.broadcaster
    with pytest.raises(ValueError):
        pair.viewer.close(pair.now, 2001)  # more than was paid: the viewer's own mistake, refused
    pair.run("viewer", pair.viewer.close(pair.now, 400))
    assert b.amount == 400 and b.state == states.CLOSING
    assert [o.value for o in b.channel.payment_tx(400).vout][0] == 400


@pytest.mark.parametrize("amount, sig_for", [(399, 399), (400, 401)])
def test_a_close_below_what_was_spent_or_badly_signed_settles_on_the_best_payment(amount, sig_for):
    pair = spent_on(2000, 40)
    v, b = pair.viewer, pair.broadcaster
    sig = v.channel.sign(v.key, v.channel.payment_tx(sig_for))
    pair.run("broadcaster", b.receive({"v": 2, "type": "close", "amount": amount, "sig": sig}, pair.now))
    assert (b.amount, b.state) == (2000, states.CLOSING)


def test_a_close_with_only_an_amount_is_refused_and_changes_nothing():
    pair = open_metered()
    b = pair.broadcaster
    authorize(pair, 300)
    (send,) = b.receive({"v": 2, "type": "close", "amount": 300}, pair.now)
    assert send.message["code"] == "bad_message" and b.state == states.OPEN


def test_a_video_close_with_the_time_watched_settles_on_it():
    """v2 §F by time: a payment for the seconds served (less one pay interval) is enough."""
    pair = watching("video-exact", 60)
    v, b = pair.viewer, pair.broadcaster
    paid, served = v.amount, b.served_s(pair.now)
    exact = -(-6000 * served // 60)
    assert paid > exact  # 15 s paid ahead
    assert v.served_amount == exact  # what the viewer signs: the video it received
    pair.run("viewer", v.close(pair.now, v.served_amount))
    assert b.amount == exact and b.state in (states.CLOSING, states.SETTLING)


def test_a_short_session_closes_on_the_minimum_payment_not_on_the_time_paid_ahead():
    pair = watching("video-short", 30, rate_sat_per_min=100)
    v, b = pair.viewer, pair.broadcaster
    assert v.served_amount == v.offer.terms.min_payment_sat <= v.amount
    pair.run("viewer", v.close(pair.now, v.served_amount))
    assert b.amount == v.offer.terms.min_payment_sat
