"""Protocol v2 §C: settled means buried. Neither side forgets a key, T2 or its best T3 while
the closing transaction has fewer than six confirmations; each re-broadcasts what protects
it, and stops once something else spent the channel."""

import json

from app.channel import Broadcaster, message
from app.channel import transactions as txs

from .conftest import Proposal, bring_to
from .full_channel import START, Pair, channel_terms, fake_coins, key_secret, open_channel


def closing_broadcaster(seed="settle"):
    b = Broadcaster.new(channel_terms(), key_secret(seed, "identity"), key_secret(seed, "k2"))
    b.start()
    p = Proposal(b)
    bring_to(b, p, "open")
    b.receive(json.dumps(p.pay(3000)), START)
    b.receive(json.dumps(message("close")), START + 5)
    assert b.state == "closing"
    return b, p


def test_the_broadcaster_settles_when_its_t3_is_seen_and_closes_only_when_it_is_buried():
    b, _ = closing_broadcaster()
    t3 = b.closing_txid
    actions = b.tx_accepted(t3, START + 6)
    assert [a.kind for a in actions] == ["persist", "send", "closed"] and b.state == "settling"
    assert actions[1].message == message("closed", txid=t3)
    for depth in range(6):
        assert b.tx_confirmations(t3, depth, START + 600 * depth) == [] and b.state == "settling"
    assert [a.kind for a in b.tx_confirmations(t3, 6, START + 3600)] == ["persist"] and b.state == "closed"
    assert b.record()["closing_tx"]  # nothing was forgotten by the core: the page may delete it now


def test_an_evicted_t3_is_published_again():
    b, _ = closing_broadcaster("evicted")
    b.tx_accepted(b.closing_txid, START + 6)
    actions = b.spend_vanished(START + 100)
    assert b.state == "closing" and [a.tx for a in actions if a.kind == "broadcast"] == [b.closing_tx]


def test_a_channel_spent_by_another_transaction_is_recorded_and_its_t3_no_longer_published():
    b, p = closing_broadcaster("elsewhere")
    refund = txs.txid(txs.parse_tx(txs.tx_hex(p.channel.refund_tx()), ""))
    actions = b.funding_spent(refund, START + 90_000)
    assert b.state == "settling" and b.spent_by == refund and actions[-1].reason == "spent_elsewhere"
    assert b.reload() == [] and b.funding_spent(refund, START + 90_001) == []
    assert b.tx_confirmations(refund, 6, START + 95_000)[0].kind == "persist" and b.state == "closed"


def test_an_open_channel_spent_elsewhere_stops_its_media_at_once():
    b = Broadcaster.new(channel_terms(), key_secret("stale", "identity"), key_secret("stale", "k2"))
    b.start()
    p = Proposal(b)
    bring_to(b, p, "open")
    b.receive(json.dumps(p.pay(3000)), START)
    older = "ee" * 32  # e.g. a T3 another copy of this page settled on
    actions = b.funding_spent(older, START + 30)
    assert [a.kind for a in actions] == ["persist", "stop_media", "send", "closed"]
    assert actions[2].message == message("end", reason="stopped") and b.state == "settling"
    assert b.tick(START + 60) == [] and not b.streaming


def test_the_viewer_keeps_its_refund_until_the_spend_is_buried_and_takes_up_its_duties_if_it_vanishes():
    pair = Pair(channel_terms(), "viewer-settle", START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    v = pair.viewer
    spend = "ab" * 32
    actions = v.funding_spent(spend, START + 10)
    assert v.state == "settling" and actions[-1].kind == "closed" and v.refund_tx and v.key
    assert v.spend_confirmations(spend, 3, START + 1800) == [] and v.state == "settling"
    late = v.channel.lock_time + 1
    actions = v.spend_vanished(late)
    assert v.state == "expired" and [a.tx for a in actions if a.kind == "broadcast"][-1] == v.refund_tx
    v.funding_spent(txs.txid(txs.parse_tx(v.refund_tx, "")), late + 10)
    assert v.spend_confirmations(v.closing_txid, 6, late + 4000)[0].kind == "persist" and v.state == "closed"


def test_sweeping_takes_only_coins_the_channel_does_not_hold_once_funding_is_acknowledged():
    pair = Pair(channel_terms(), "leftover", START)
    coins = []

    def fund(address, script, amount):
        coins.extend(fake_coins(address, script, amount))
        return list(coins)

    open_channel(pair, 100_000, fund)
    v = pair.viewer
    late_coin = {"txid": "cd" * 32, "vout": 0, "value": 40_000}  # paid twice, or after T1
    assert [c.txid for c in v.sweepable(coins + [late_coin])] == [coins[0]["txid"], "cd" * 32]  # not acked yet
    pair.confirm_pending()
    assert v.funding_acked
    assert [c.txid for c in v.sweepable(coins + [late_coin])] == ["cd" * 32]
    fee = v.sweep_fee(coins + [late_coin], v.change_address)
    (sweep,) = v.sweep(coins + [late_coin], v.change_address, pair.now)
    tx = txs.parse_tx(sweep.tx, "")
    assert [(i.txid.hex(), i.vout) for i in tx.vin] == [("cd" * 32, 0)] and tx.vout[0].value == 40_000 - fee
    try:
        v.sweep(coins, v.change_address, pair.now)
        raise AssertionError("swept the channel's own coins")
    except ValueError as e:
        assert "the channel holds them" in str(e)


def test_a_channel_the_viewers_refund_took_earns_nothing():
    b, p = closing_broadcaster("refunded")
    assert b.earned == 3000
    refund = txs.txid(txs.parse_tx(txs.tx_hex(p.channel.refund_tx()), ""))
    b.funding_spent(refund, START + 90_000)
    assert b.earned == 0


def test_a_funded_channel_released_unpaid_is_watched_and_resends_its_release_on_resume():
    b = Broadcaster.new(channel_terms(), key_secret("release", "identity"), key_secret("release", "k2"))
    b.start()
    p = Proposal(b)
    bring_to(b, p, "open")
    actions = b.receive(json.dumps(message("close")), START + 5)
    assert b.state == "settling" and [a.message["type"] for a in actions if a.kind == "send"] == ["release"]
    release_txid = txs.txid(p.channel.payment_tx(0))
    assert b.settled_by == release_txid and b.watch.outpoint
    again = b.resume(p.resume(START + 10), START + 10)
    assert [a.message["type"] for a in again if a.kind == "send"] == ["release"]
    assert b.funding_spent(release_txid, START + 20) == []
    assert b.tx_confirmations(release_txid, 6, START + 4000)[0].kind == "persist" and b.state == "closed"


def test_a_settling_viewer_follows_a_spend_that_changed():
    pair = Pair(channel_terms(), "changed-spend", START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    v = pair.viewer
    v.funding_spent("ab" * 32, START + 10)
    v.funding_spent("cd" * 32, START + 20)  # the first was replaced before it confirmed
    assert v.closing_txid == "cd" * 32
    assert v.spend_confirmations("cd" * 32, 6, START + 4000)[0].kind == "persist" and v.state == "closed"
