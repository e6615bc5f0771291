"""Protocol v2 §B: what a broadcaster risks on an unconfirmed T1 is bounded by the offer's
`max_unconfirmed_sat`; it waits for `confirmations`, watches T1, and publishes T1 with T3."""

import json

from hypothesis import given, settings, strategies as st, HealthCheck

import pytest

from app.channel import Broadcaster, ProtocolError, message, states
from app.channel.broadcaster import LOST_AFTER_L_S

from .conftest import Proposal, bring_to
from .full_channel import START, Pair, channel_terms, fake_coins, key_secret, open_channel


def kinds(actions):
    return [a.kind for a in actions]


def sent(actions):
    return [a.message["type"] for a in actions if a.kind == "send"]


def broadcaster(seed="unconfirmed", **terms):
    b = Broadcaster.new(channel_terms(**terms), key_secret(seed, "identity"), key_secret(seed, "k2"))
    b.start()
    return b, Proposal(b)


def test_commit_ack_waits_for_the_offers_confirmations_and_t1_stays_watched_until_then():
    b, p = broadcaster(confirmations=2)
    bring_to(b, p, "refund_signed")
    b.receive(json.dumps(p.commit()), START)
    b.funding_inputs([c.value for c in p.coins], START)
    txid = p.channel.funding.txid
    assert sent(b.tx_accepted(txid, START)) == [] and b.state == "refund_signed"
    assert sent(b.tx_confirmations(txid, 1, START + 600)) == [] and b.state == "refund_signed"
    assert b.watch.funding_txid == txid
    assert sent(b.tx_confirmations(txid, 2, START + 1200)) == ["commit_ack"] and b.state == "open"
    assert b.watch.funding_txid is None


def test_media_on_an_unconfirmed_funding_stops_at_what_max_unconfirmed_sat_pays_until_it_confirms():
    b, p = broadcaster(rate_sat_per_min=600, max_unconfirmed_sat=1200, refund_lock_s=86_400)  # two minutes
    bring_to(b, p, "open", confirmations=0)
    assert b.offer.terms.unconfirmed_s == 120
    now = START
    b.receive(json.dumps(p.pay(1200)), now)
    assert b.tick(now + 119) == []
    held = b.tick(now + 120)
    assert kinds(held) == ["persist", "stop_media", "send"] and held[2].message == message("hold", reason="unconfirmed")
    assert b.held and not b.streaming
    assert b.tick(now + 5000) == [] and b.state == "open"  # held, not unpaid: the viewer is not at fault
    assert "start_media" not in kinds(b.receive(json.dumps(p.pay(1300)), now + 5001))
    unheld = b.tx_confirmations(p.channel.funding.txid, 1, now + 6000)
    assert sent(unheld) == ["unhold"] and not b.held and b.held_s == 6000 - 120
    assert b.paid_until == now + 5880 + 1300 * 60 // 600  # the time held is not the viewer's to pay
    assert kinds(b.receive(json.dumps(p.pay(1300)), now + 6001)) == ["send", "start_media"]
    assert b.served_s(now + 6010) == 130


def test_a_confirmed_funding_is_never_held():
    b, p = broadcaster(rate_sat_per_min=600, max_unconfirmed_sat=600)
    bring_to(b, p, "open", confirmations=1)
    b.receive(json.dumps(p.pay(600)), START)
    for second in range(1, 200, 5):
        b.receive(json.dumps(p.pay(600 + second * 10)), START + second)
        assert b.tick(START + second) == [] and b.streaming


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 20), st.booleans()), min_size=5, max_size=60),
       st.integers(300, 3000), st.integers(0, 90))
def test_media_served_on_an_unconfirmed_funding_never_exceeds_what_max_unconfirmed_sat_pays(steps, rate, minutes):
    terms = dict(rate_sat_per_min=rate, max_unconfirmed_sat=max(294, rate * minutes // 60 or 294),
                 refund_lock_s=86_400)
    pair = Pair(channel_terms(**terms), "bound", START)
    open_channel(pair, 200_000, fake_coins)
    b, v = pair.broadcaster, pair.viewer
    funding = v.channel.funding.txid
    for side, action in pair.broadcasts:  # T1 reaches the mempool and stays there
        if action.txid == funding:
            pair.run("broadcaster", b.tx_accepted(funding, pair.now))
    limit, served = b.offer.terms.unconfirmed_s, 0
    for seconds, video in steps:
        for _ in range(seconds):
            served += pair.media
            pair.now += 1
            if video and pair.media:
                v.received_video(1)
            pair.run("viewer", v.tick(pair.now))
            pair.run("broadcaster", b.tick(pair.now))
        assert served <= limit + 1, (served, limit)
        if b.state != "open":
            break


def paying(seed):
    """A channel six seconds into its payments, T1 in the mempool."""
    pair = Pair(channel_terms(), seed, START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    for _ in range(6):
        pair.step()
    return pair


def test_the_viewer_shows_a_hold_pays_nothing_then_sends_its_last_payment_again_to_get_media_back():
    pair = paying("viewer-hold")
    v = pair.viewer
    paid = v.amount
    actions = v.receive(json.dumps(message("hold", reason="unconfirmed")), pair.now)
    assert kinds(actions) == ["persist", "show_hold"] and actions[1].held and v.held
    for second in range(1, 30):
        v.received_video(1)
        assert v.tick(pair.now + second) == []
    assert v.amount == paid
    actions = v.receive(json.dumps(message("unhold")), pair.now + 30)
    assert kinds(actions) == ["persist", "show_hold", "send"] and actions[2].message["amount"] == paid


def test_a_close_on_an_unconfirmed_funding_publishes_t1_before_t3_and_again_on_reload():
    b, p = broadcaster()
    bring_to(b, p, "open", confirmations=0)
    b.receive(json.dumps(p.pay(2000)), START)
    closing = [a for a in b.receive(json.dumps(message("close")), START + 5) if a.kind == "broadcast"]
    assert [a.tx for a in closing] == [b.funding_tx, b.closing_tx]
    assert [a.tx for a in Broadcaster.from_record(b.record()).reload()] == [b.funding_tx, b.closing_tx]
    b.tx_confirmations(p.channel.funding.txid, 1, START + 600)
    assert [a.tx for a in b.reload()] == [b.closing_tx]


def test_t1_unknown_to_the_chain_with_its_inputs_unspent_is_published_again():
    b, p = broadcaster()
    bring_to(b, p, "open", confirmations=0)
    assert b.watch.funding_txid == p.channel.funding.txid
    assert b.watch.funding_inputs == tuple((c.txid, c.vout) for c in p.coins)
    (again,) = b.funding_missing(START + 60)
    assert again.kind == "broadcast" and again.tx == b.funding_tx
    b.tx_confirmations(p.channel.funding.txid, 1, START + 600)
    assert b.funding_missing(START + 700) == [] and b.watch.funding_txid is None


def test_funding_gone_ends_the_channel_with_its_own_reason_and_the_viewer_keeps_its_duties():
    pair = Pair(channel_terms(), "gone", START)
    open_channel(pair, 100_000, fake_coins)
    b, v = pair.broadcaster, pair.viewer
    pair.run("broadcaster", b.tx_accepted(v.channel.funding.txid, pair.now))  # in the mempool, never confirmed
    for _ in range(5):
        pair.now += 1
        v.received_video(1)
        pair.run("viewer", v.tick(pair.now))
        pair.run("broadcaster", b.tick(pair.now))
    assert pair.media
    pair.run("broadcaster", b.funding_gone(pair.now))
    assert b.end_reason == "funding_gone" and b.earned == 0 and not pair.media
    assert v.state == "closing" and v.end_reason == "funding_gone" and v.refund_tx


def lost(seed, conflict=None):
    """A channel paid 1000 sat whose unconfirmed T1 the chain no longer has."""
    b, p = broadcaster(seed)
    bring_to(b, p, "open", confirmations=0)
    b.receive(json.dumps(p.pay(1000)), START)
    b.funding_gone(START + 1, conflict)
    return b, p


def test_a_paid_channel_whose_funding_is_lost_keeps_its_t3_until_the_conflict_is_buried():
    b, p = lost("lost-conflict", "cd" * 32)
    assert b.state == "settling" and b.funding_lost and not states.may_forget(b.state)
    assert b.watch.funding_txid == p.channel.funding.txid and b.watch.outpoint is None
    assert b.funding_spent("ef" * 32, START + 2) == [] and b.spend_vanished(START + 2) == []
    assert b.tx_confirmations("cd" * 32, 5, START + 3) == [] and b.state == "settling"
    assert kinds(b.tick(b.channel.lock_time + 1)) == [] and b.state == "settling", "a conflict is seen: wait for it"
    b.tx_confirmations("cd" * 32, 6, START + 4)
    assert b.state == "closed" and b.earned == 0


def test_a_lost_funding_back_on_the_chain_settles_on_the_best_payment_t1_first():
    b, p = lost("lost-back", "cd" * 32)
    actions = b.tx_confirmations(p.channel.funding.txid, 0, START + 5)  # the conflict evicted, T1 relayed again
    assert b.state == "closing" and not b.funding_lost and b.earned == 1000
    assert [(a.kind, a.txid) for a in actions if a.kind == "broadcast"] == [
        ("broadcast", p.channel.funding.txid), ("broadcast", b.closing_txid)]


def test_a_lost_funding_whose_conflict_vanished_is_published_again_and_forgotten_two_hours_after_l():
    b, p = lost("lost-republish", "cd" * 32)
    actions = b.funding_missing(START + 5)
    assert kinds(actions) == ["persist", "broadcast"] and b.funding_conflict is None
    late = b.channel.lock_time + LOST_AFTER_L_S
    assert b.tick(late - 1) == [] and b.state == "settling", "MTP lags the clock: T1 could still land before T2"
    assert kinds(b.tick(late)) == ["persist"] and b.state == "closed"
    assert b.tx_confirmations(p.channel.funding.txid, 1, late + 1) == [] and b.state == "closed"


def test_a_lost_fundings_conflict_is_whatever_the_latest_round_saw():
    b, p = lost("lost-stale-conflict", "cd" * 32)
    assert kinds(b.funding_gone(START + 5)) == ["persist"] and b.funding_conflict is None  # evicted with the parent
    assert kinds(b.tick(b.channel.lock_time + LOST_AFTER_L_S)) == ["persist"] and b.state == "closed"


def test_an_open_channel_whose_foreign_spend_vanished_settles_on_its_best_payment():
    b, p = broadcaster("vanished-foreign")
    bring_to(b, p, "open", confirmations=1)
    b.receive(json.dumps(p.pay(1000)), START)
    b.funding_spent("ef" * 32, START + 1)
    assert b.state == "settling" and b.spent_by == "ef" * 32
    actions = b.spend_vanished(START + 2)
    assert b.state == "closing" and b.earned == 1000
    assert [a.txid for a in actions if a.kind == "broadcast"] == [b.closing_txid]


def test_a_lost_funding_is_not_resumed():
    b, p = lost("lost-resume")
    with pytest.raises(ProtocolError, match="funding transaction is gone"):
        b.resume(p.resume(START + 10), START + 10)


def test_a_release_on_an_unconfirmed_funding_that_is_then_replaced_ends():
    b, p = broadcaster("release-replaced")
    bring_to(b, p, "open", confirmations=0)
    b.receive(json.dumps(message("close")), START)
    assert b.state == "settling" and b.watch.funding_txid == p.channel.funding.txid
    b.funding_gone(START + 5, "cd" * 32)
    assert b.state == "closed", "nothing was paid: the viewer's refund covers it"


def test_a_viewer_that_missed_the_unhold_gets_its_media_back_on_resume():
    pair = paying("missed-unhold")
    v = pair.viewer
    v.receive(json.dumps(message("hold", reason="unconfirmed")), pair.now)
    assert v.held  # the broadcaster's unhold never arrived; then the connection drops
    resume = [a for a in v.connected(pair.now + 60) if a.kind == "send"][0].message
    assert resume["type"] == "resume" and not v.held
    answer = pair.broadcaster.resume(resume, pair.now + 60)  # the broadcaster is no longer holding
    pair.run("viewer", [])
    for action in answer:
        if action.kind == "send":
            pair.run("viewer", v.receive(json.dumps(action.message), pair.now + 60))
    assert pair.media and not v.held
