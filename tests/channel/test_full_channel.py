"""Whole channels between a Viewer and a Broadcaster in memory, one per way a channel ends."""

import json
import subprocess
import sys

import pytest

from app.channel import Broadcaster, transactions as txs
from app.channel.addresses import dust
from app.channel.script import p2wpkh

from .conftest import Proposal, bring_to
from .full_channel import (ENDINGS, START, Pair, change_address, channel_terms, fake_coins, key_secret,
                           run_full_channel)


def outputs(tx_hex):
    return [(o.value, o.script_pubkey.data.hex()) for o in txs.parse_tx(tx_hex, "bad_message").vout]


def test_channel_with_twenty_payments_closed_by_the_viewer_pays_the_broadcaster_the_last_amount():
    r = run_full_channel("close", payments=20)
    assert r["viewer_state"] == r["broadcaster_state"] == "closed"
    assert len(r["payments"]) == 20 and r["payments"] == sorted(set(r["payments"]))
    payout, change = outputs(r["closing_tx"])
    assert payout[0] == r["amount"] == r["payments"][-1]
    close_fee = r["value"] - r["max_amount"]
    assert change[0] == r["value"] - r["amount"] - close_fee
    assert r["closed"]["viewer"][1] == r["closed"]["broadcaster"][1] == txs.txid(txs.parse_tx(r["closing_tx"], ""))


def test_viewer_whose_video_stops_stops_paying_and_is_ended_unpaid():
    r = run_full_channel("unpaid", payments=5)
    assert r["closed"]["viewer"][0] == r["closed"]["broadcaster"][0] == "unpaid"
    assert len(r["payments"]) == 5 and r["closing_tx"]


def test_channel_paid_up_to_its_capacity_ends_exhausted_with_no_change_output():
    r = run_full_channel("exhausted")
    assert r["closed"]["broadcaster"][0] == "exhausted"
    assert r["amount"] == r["max_amount"]
    assert outputs(r["closing_tx"]) == [(r["max_amount"], outputs(r["closing_tx"])[0][1])]


def test_broadcaster_closes_a_channel_settle_margin_before_the_lock_time():
    r = run_full_channel("expiring")
    assert r["closed"]["broadcaster"][0] == "expiring"
    assert r["settle_at"] == r["lock_time"] - min(7200, 1200 // 12)
    assert r["settle_at"] <= r["end_time"] < r["lock_time"]


def test_channel_closed_before_any_payment_is_released_with_t3_zero():
    r = run_full_channel("release")
    assert r["amount"] == 0 and r["closing_tx"] is None
    (change,) = outputs(r["release_tx"])
    assert change[0] == r["max_amount"] >= dust(bytes.fromhex(change[1]))
    assert r["closed"]["viewer"][0] == "released"


def test_viewer_whose_broadcaster_vanished_broadcasts_the_refund_after_the_lock_time():
    r = run_full_channel("refund")
    assert r["viewer_state"] == "closed" and r["closed"]["viewer"][0] == "refund"
    refund_txid = txs.txid(txs.parse_tx(r["refund_tx"], ""))
    assert ("viewer", refund_txid, r["lock_time"]) in r["broadcasts"]
    assert r["end_time"] >= r["lock_time"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_both_sides_build_byte_identical_transactions(ending):
    r = run_full_channel(ending, payments=3)
    assert r["funding_txid"] == txs.txid(txs.parse_tx(r["funding_tx"], ""))
    t2 = txs.parse_tx(r["refund_tx"], "")
    assert t2.locktime == r["lock_time"] and t2.vin[0].sequence == 0xFFFFFFFE


def test_stopping_the_broadcast_settles_a_paid_channel_and_releases_an_unpaid_one():
    for paid in (True, False):
        b = Broadcaster.new(channel_terms(), key_secret("stop", "identity"), key_secret("stop", "k2"))
        b.start()
        p = Proposal(b)
        bring_to(b, p, "open")
        if paid:
            b.receive(json.dumps(p.pay(1000)), START)
        actions = b.stop(START + 1)
        sent = [a.message["type"] for a in actions if a.kind == "send"]
        if paid:
            assert b.state == "closing" and sent == ["end"] and actions[-1].kind == "broadcast"
            assert [a.message["reason"] for a in actions if a.kind == "send"] == ["stopped"]
        else:  # released, and watched until the viewer's T3(0) or T2 is buried (v2 §C)
            assert b.state == "settling" and sent == ["end", "release"]


def test_full_channel_runs_on_embits_pure_python_secp256k1_as_in_pyodide():
    code = ("import sys; sys.modules['embit.util.ctypes_secp256k1'] = None\n"
            "from embit.util import secp256k1\n"
            "assert secp256k1.ecdsa_sign.__module__.endswith('py_secp256k1')\n"
            "from tests.channel.full_channel import run_full_channel\n"
            "r = run_full_channel('close', payments=20)\n"
            "assert r['viewer_state'] == r['broadcaster_state'] == 'closed' and len(r['payments']) == 20\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=__file__.rsplit("/tests/", 1)[0])


def test_broadcaster_told_the_funding_is_gone_stops_media_and_broadcasts_nothing():
    b = Broadcaster.new(channel_terms(), key_secret("gone", "identity"), key_secret("gone", "k2"))
    b.start()
    p = Proposal(b)
    bring_to(b, p, "open", confirmations=0)
    assert b.receive(json.dumps(p.pay(1000)), START)[-1].kind == "start_media"
    actions = b.funding_gone(START + 1)
    assert [a.kind for a in actions] == ["persist", "stop_media", "send", "closed"]
    assert actions[2].message == {"v": 2, "type": "end", "reason": "funding_gone"}
    assert actions[-1].reason == "funding_gone" and b.closing_tx is None and b.earned == 0
    assert b.tick(START + 10) == [] and b.reload() == [] and b.funding_gone(START + 2) == []


def test_the_deposit_can_change_until_coins_arrive_and_the_old_amount_still_funds_the_new_one():
    pair = Pair(channel_terms(), "change-deposit", START)
    v = pair.viewer
    pair.run("viewer", v.connected(pair.now))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", v.accept(100_000, change_address(v.network), pair.now))
    old_amount, address = v.funding_amount(100_000), v.funding_address
    assert [a.kind for a in v.change_deposit()] == ["persist", "show_offer"] and v.state == "joining"
    pair.run("viewer", v.accept(50_000, change_address(v.network), pair.now))
    assert v.funding_address == address  # the same K1: coins sent for the old amount are not lost
    coins = fake_coins(address, p2wpkh(v.key.sec()), old_amount)
    pair.coins.update({(c["txid"], c["vout"]): c["value"] for c in coins})
    pair.run("viewer", v.funded(coins, pair.now))
    assert v.channel.value == 50_000 and v.state == "refund_signed"
    with pytest.raises(ValueError, match="no coins have arrived"):
        v.change_deposit()
