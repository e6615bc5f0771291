"""Receipts of a settled channel: built from the record and the closing transaction itself, and
the numbers add up (sent = paid + fees + returned), each ends when its side saw the channel end; a
transaction that is not the channel's spend is refused."""

import pytest

from app import receipts
from app.channel import transactions as txs
from app.channel.errors import BAD_FUNDING
from tests.channel.full_channel import watching

EXPLORER = "/explorer"


def settled_pair():
    pair = watching("receipt", 60)
    v = pair.viewer
    pair.run("viewer", v.close(pair.now, v.served_amount))
    while v.state != "closed":
        pair.step(video=False)
    return pair


def closing(pair):
    b = pair.broadcaster
    ch = b.channel
    return receipts.settlement(txs.parse_tx(b.closing_tx, BAD_FUNDING), ch.funding.txid, ch.funding.vout, ch.value,
                               b.offer.terms.payout_script, ch.change_script)


def test_a_viewers_receipt_explains_every_sat_it_sent():
    pair = settled_pair()
    v, b = pair.viewer, pair.broadcaster
    r = receipts.viewer_receipt(v, closing(pair), b.closing_txid, 6, 6, EXPLORER)
    assert r["paid_sat"] == v.served_amount == b.amount < v.amount  # the time paid ahead came back
    assert r["sent_sat"] == r["paid_sat"] + r["funding_fee_sat"] + r["closing_fee_sat"] + r["returned_sat"]
    assert r["sent_sat"] == v.funding_amount(v.capacity)
    assert r["closing_fee_sat"] == v.close_fee() and r["watched_s"] == 60
    assert r["closing_url"] == f"{EXPLORER}/tx/{b.closing_txid}" and r["final"]
    assert r["started_at"] and r["broadcaster_fingerprint"] == receipts.fingerprint(v.link["identity_pubkey"])
    labels = [label for label, _, _ in receipts.rows(r)]
    assert "Funding fee (network)" in labels and "Closing fee (network)" in labels
    assert receipts.status(r).startswith("Settled, confirmed")


def test_the_broadcasters_receipt_shows_what_the_channel_paid_it():
    pair = settled_pair()
    b = pair.broadcaster
    r = receipts.broadcaster_receipt(b, "viewer 1a2b", "02" + "ab" * 32, 2, 6, EXPLORER, pair.now)
    assert r["paid_sat"] == b.earned and r["closing_fee_sat"] == closing(pair).fee
    assert not r["final"] and receipts.status(r) == "Settled, confirming (2 confirmations)"


def test_each_receipt_ends_when_its_side_saw_the_channel_end():
    pair = settled_pair()
    v, b = pair.viewer, pair.broadcaster
    viewer = receipts.viewer_receipt(v, closing(pair), b.closing_txid, 6, 6, EXPLORER)
    assert b.ended_at < v.ended_at == pair.now  # the broadcaster closed; the viewer saw the spend later, on the chain
    assert viewer["started_at"] < viewer["last_payment_at"] < viewer["ended_at"] == receipts.when(v.ended_at)
    assert ("Ended", viewer["ended_at"], None) in receipts.rows(viewer)
    earned, hour_later = (receipts.broadcaster_receipt(b, "viewer 1a2b", "02" + "ab" * 32, 6, 6, EXPLORER, t)
                          for t in (pair.now, pair.now + 3600))
    assert earned == hour_later and earned["ended_at"] == receipts.when(b.ended_at)  # time watched stops at the end
    assert earned["watched_s"] == b.served_s(b.ended_at) and earned["started_at"] < earned["ended_at"]
    assert ("Ended", earned["ended_at"], None) in receipts.rows(earned)


def test_a_receipt_before_the_closing_transaction_is_seen_says_it_is_settling():
    pair = settled_pair()
    r = receipts.viewer_receipt(pair.viewer, None, None, None, 6, EXPLORER)
    assert r["paid_sat"] is None and receipts.status(r).startswith("Settling")
    assert ("Paid to the broadcaster", "waiting for the closing transaction", None) in receipts.rows(r)


def test_a_transaction_that_does_not_spend_the_channel_is_refused():
    pair = settled_pair()
    b = pair.broadcaster
    ch = b.channel
    t3 = txs.parse_tx(b.closing_tx, BAD_FUNDING)
    with pytest.raises(ValueError, match="does not spend the channel"):
        receipts.settlement(t3, "00" * 32, ch.funding.vout, ch.value, b.offer.terms.payout_script, ch.change_script)
    with pytest.raises(ValueError, match="more than the channel holds"):
        receipts.settlement(t3, ch.funding.txid, ch.funding.vout, 1000, b.offer.terms.payout_script, ch.change_script)
