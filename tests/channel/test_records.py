"""Persistence: records rebuild the same objects, and a reloaded page resumes its channel."""

import json

import pytest

from app.channel import Broadcaster, Viewer, message, transactions as txs

from .conftest import Proposal, bring_to
from .full_channel import START, Pair, change_address, channel_terms, fake_coins, key_secret, open_channel


def open_pair(seed="records"):
    pair = Pair(channel_terms(), seed, START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    for _ in range(12):
        pair.step()
    return pair


def accepted_pair(seed):
    """Viewer and broadcaster connected, the viewer having accepted a 100,000 sat channel."""
    pair = Pair(channel_terms(), seed, START)
    pair.run("viewer", pair.viewer.connected(START))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", pair.viewer.accept(100_000, change_address("regtest"), START))
    return pair


def kinds(actions):
    return [a.kind for a in actions]


def reload_both(pair):
    pair.viewer = Viewer.from_record(json.loads(json.dumps(pair.viewer.record())))
    pair.broadcaster = Broadcaster.from_record(json.loads(json.dumps(pair.broadcaster.record())))


def test_records_rebuild_objects_with_the_same_record():
    pair = open_pair()
    for side in (pair.viewer, pair.broadcaster):
        assert type(side).from_record(side.record()).record() == side.record()


def test_reloaded_viewer_resumes_and_keeps_paying_after_the_broadcaster_reloads_too():
    pair = open_pair()
    paid = pair.broadcaster.amount
    reload_both(pair)
    pair.media = False
    pair.run("viewer", pair.viewer.connected(pair.now))
    assert pair.media and pair.viewer.paid_until == pair.broadcaster.paid_until
    assert pair.broadcaster.amount == pair.viewer.amount == paid  # media back without paying more
    for _ in range(15):
        pair.step()
    assert pair.broadcaster.amount > paid
    pair.run("viewer", pair.viewer.close(pair.now))
    pair.confirm_pending()
    assert pair.viewer.state == pair.broadcaster.state == "closed"


def test_payment_lost_before_a_reload_is_sent_again_on_resume():
    pair = open_pair()
    pair.broadcaster_alive = False
    for _ in range(6):
        pair.step()
    assert pair.viewer.amount > pair.broadcaster.amount
    pair.broadcaster_alive = True
    reload_both(pair)
    pair.run("viewer", pair.viewer.connected(pair.now))
    assert pair.broadcaster.amount == pair.viewer.amount


def test_broadcaster_reloaded_while_closing_broadcasts_its_closing_transaction_again():
    pair = open_pair()
    b = pair.broadcaster
    pair.run("broadcaster", b.tick(b.channel.settle_at))
    assert b.state == "closing"
    (again,) = Broadcaster.from_record(b.record()).reload()
    assert again.kind == "broadcast" and again.tx == b.closing_tx


def test_viewer_funding_again_after_reconnecting_proposes_the_channel_with_the_new_channel_key():
    pair = accepted_pair("refund")
    v = pair.viewer
    pair.broadcaster_alive = False
    pair.run("viewer", v.funded(fake_coins(v.funding_address, b"", v.funding_amount(100_000)), START))
    old_txid = v.channel.funding.txid
    pair.broadcaster_alive = True
    v = pair.viewer = Viewer.from_record(v.record())
    pair.broadcaster = Broadcaster.new(channel_terms(), key_secret("refund", "identity"), key_secret("new", "k2"))
    pair.run("viewer", v.connected(START + 30))
    pair.run("broadcaster", pair.broadcaster.start())
    assert v.state == "refund_signed" and v.channel.funding.txid != old_txid


def test_viewer_that_leaves_before_funding_closes_with_nothing_on_chain():
    pair = Pair(channel_terms(), "leave", START)
    pair.run("viewer", pair.viewer.connected(START))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", pair.viewer.close(START))
    assert pair.viewer.state == "closed" and pair.closed["viewer"].reason == "abandoned"


def test_viewer_can_sweep_coins_stranded_at_its_funding_address_before_signing_funding():
    pair = accepted_pair("sweep")
    v = pair.viewer
    coins = fake_coins(v.funding_address, b"", 50_000)
    (sweep,) = v.sweep(coins, change_address("regtest"), START)
    assert sweep.kind == "broadcast"


def test_viewer_told_closed_keeps_its_refund_until_the_chain_shows_the_funding_spent():
    pair = open_pair("fake-closed")
    v = pair.viewer
    actions = v.receive(json.dumps(message("closed", txid="ab" * 32)), pair.now)
    assert actions[-1].kind == "closed" and actions[-1].txid == "ab" * 32  # the UI may show the claim
    assert v.state == "closing" and v.closing_txid == "ab" * 32
    refund_txid = txs.txid(txs.parse_tx(v.refund_tx, ""))
    expired = v.tick(v.channel.lock_time)
    assert v.state == "expired" and ("broadcast", refund_txid) in [(a.kind, getattr(a, "txid", None)) for a in expired]
    assert v.funding_spent(refund_txid, v.channel.lock_time + 600)[-1].kind == "closed" and v.state == "settling"
    assert v.spend_confirmations(refund_txid, 5, v.channel.lock_time + 700) == [] and v.state == "settling"
    assert v.spend_confirmations(refund_txid, 6, v.channel.lock_time + 800)[0].kind == "persist"
    assert v.state == "closed"


def test_funding_coins_too_many_for_one_commit_are_refused_unsigned_and_an_unacknowledged_t1_can_be_swept():
    pair = accepted_pair("big")
    v = pair.viewer
    many = [{"txid": "%064x" % (i + 1), "vout": 0, "value": 4000} for i in range(30)]
    before = v.record()
    with pytest.raises(ValueError, match="too many coins"):
        v.funded(many, START)
    assert v.record() == before
    assert v.sweep(many, change_address("regtest"), START)[0].kind == "broadcast"
    # 26 coins fit: T1 is signed, its commit is under 8 KiB and the broadcaster takes it.
    fits = many[:26]
    pair.coins.update({(c["txid"], c["vout"]): c["value"] for c in fits})
    pair.run("viewer", v.funded(fits, START))
    assert v.state == "refund_signed" and pair.broadcaster.funding_tx == v.funding_tx
    # commit_ack never came: the viewer may still sweep (racing T1 is safe: T2 is stored).
    assert v.sweep(fits, change_address("regtest"), START)[0].kind == "broadcast"


def test_viewer_reloaded_between_storing_the_refund_and_signing_funding_signs_the_same_funding_again():
    pair = accepted_pair("crash")
    v = pair.viewer
    pair.broadcaster_alive = False
    pair.run("viewer", v.funded(fake_coins(v.funding_address, b"", v.funding_amount(100_000)), START))
    refund_sig = pair.broadcaster.receive(json.dumps(v._open_message()), START)[-1].message
    actions = v.receive(json.dumps(refund_sig), START)
    signed_t1, first = v.funding_tx, json.loads(json.dumps(actions[0].record))  # the page dies after this write
    assert first["state"] == "refund_signed" and first["funding_tx"] is None
    for event in ("reload", "refund_sig", "tick"):
        again = Viewer.from_record(first)
        if event == "reload":
            actions = again.reload()
        elif event == "refund_sig":
            actions = again.receive(json.dumps(refund_sig), START + 5)
            assert actions[-1].message == {"v": 2, "type": "commit", "funding_tx": signed_t1}
        else:
            actions = again.tick(again.channel.lock_time)
            assert [a.tx for a in actions if a.kind == "broadcast"] == [signed_t1, again.refund_tx]
        assert again.funding_tx == signed_t1 and actions[0].kind == "persist"


def test_a_record_of_protocol_version_1_still_loads_so_its_channel_can_be_settled():
    pair = open_pair("v1-record")
    for side in (pair.viewer, pair.broadcaster):
        record = json.loads(json.dumps(side.record()))
        for name in ("max_unconfirmed_sat", "confirmations"):
            record["offer"].pop(name)
        record["offer"]["v"] = 1
        for name in ("last_resume_at", "funding_confirmations", "held_since", "held_s", "spent_by", "resume_at",
                     "held", "funding_acked"):
            record.pop(name, None)
        again = type(side).from_record(record)
        assert again.state == side.state and again.offer.terms.confirmations == 0
    v1 = json.loads(json.dumps(pair.broadcaster.record()))
    for name in ("last_resume_at", "funding_confirmations", "held_since", "held_s", "spent_by"):
        v1.pop(name)
    assert Broadcaster.from_record(v1).funding_confirmations == 0  # an open v1 channel's T1 gets watched
    pair.run("viewer", pair.viewer.close(pair.now))
    closing = json.loads(json.dumps(pair.broadcaster.record()))
    closing["state"] = "closed"  # version 1 said closed once T3 was in the mempool
    for name in ("last_resume_at", "funding_confirmations", "held_since", "held_s", "spent_by"):
        closing.pop(name)
    assert Broadcaster.from_record(closing).state == "settling"
    viewer = json.loads(json.dumps(pair.viewer.record()))
    viewer.pop("funding_acked")
    assert Viewer.from_record(viewer).funding_acked  # it opened: T1's coins are the channel's
    pair.run("broadcaster", pair.broadcaster.tx_accepted(pair.broadcaster.closing_txid, pair.now))
    viewer = json.loads(json.dumps(pair.viewer.record()))
    assert viewer["closing_txid"] == pair.broadcaster.closing_txid
    viewer["state"] = "closed"  # version 1's viewer, too, said closed on a spend in the mempool
    viewer.pop("funding_acked")
    again = Viewer.from_record(viewer)
    assert again.state == "settling" and again.refund_tx, "its refund stays until the spend is buried"
