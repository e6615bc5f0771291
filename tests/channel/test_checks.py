"""One test per §5 check: the violation is answered with the right error code and
changes nothing (the persisted record is identical before and after)."""

import json

import pytest
from embit.script import Script
from embit.transaction import TransactionInput, TransactionOutput

from app.channel import Broadcaster, Viewer, build_link, transactions as txs
from app.channel.actions import Send
from app.channel.addresses import script_address
from app.channel.offer import Offer
from app.channel.script import p2wpkh, witness_script, p2wsh
from app.channel.signatures import private_key

from .conftest import Proposal, bring_to
from .full_channel import Pair, START, change_address, key_secret, fake_coins, channel_terms

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def assert_rejected(side, msg, code, now=START):
    before = json.dumps(side.record(), sort_keys=True)
    state = side.state
    raw = msg if isinstance(msg, (str, bytes)) else json.dumps(msg)
    actions = side.receive(raw, now)
    assert len(actions) == 1 and isinstance(actions[0], Send), actions
    assert actions[0].message["type"] == "error"
    assert actions[0].message["code"] == code, actions[0].message
    assert side.state == state
    assert json.dumps(side.record(), sort_keys=True) == before


def refund(p: Proposal):
    return p.channel.refund_tx()


def high_s(sig_hex: str) -> str:
    der = bytes.fromhex(sig_hex)[:-1]
    len_r = der[3]
    r, s = der[4:4 + len_r], int.from_bytes(der[6 + len_r:], "big")
    s_bytes = (ORDER - s).to_bytes(33, "big").lstrip(b"\x00")
    if s_bytes[0] & 0x80:
        s_bytes = b"\x00" + s_bytes
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s_bytes)]) + s_bytes
    return (b"\x30" + bytes([len(body)]) + body + b"\x01").hex()


# ---- open: the refund transaction ---------------------------------------------

def test_refund_spending_another_outpoint_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vin[0].txid = bytes(32)
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_with_a_second_input_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vin.append(TransactionInput(bytes(32), 1, sequence=txs.SEQUENCE_REFUND))
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_with_final_sequence_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vin[0].sequence = txs.SEQUENCE_FINAL
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


@pytest.mark.parametrize("offset", [-601, 601])
def test_refund_lock_time_outside_the_window_is_bad_refund(broadcaster, proposal, offset):
    tx = refund(proposal)
    tx.locktime += offset
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_lock_time_at_the_window_edge_is_signed(broadcaster, proposal):
    tx = refund(proposal)
    tx.locktime += 600
    assert broadcaster.receive(json.dumps(proposal.open(refund=tx)), START)[-1].message["type"] == "refund_sig"


def test_refund_lock_time_as_block_height_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.locktime = 800_000
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_fee_below_fee_rate_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vout[0].value += 1
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_fee_above_ten_times_fee_rate_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    fee = proposal.channel.value - tx.vout[0].value
    tx.vout[0].value -= 9 * fee + 2
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_fee_of_ten_times_fee_rate_is_signed(broadcaster, proposal):
    tx = refund(proposal)
    fee = proposal.channel.value - tx.vout[0].value
    tx.vout[0].value -= 9 * fee
    assert broadcaster.receive(json.dumps(proposal.open(refund=tx)), START)[-1].message["type"] == "refund_sig"


def test_refund_dust_output_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vout[0].value = 293
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_with_a_second_output_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vout.append(TransactionOutput(1000, Script(proposal.change_script)))
    tx.vout[0].value -= 1000
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_paying_another_script_is_bad_refund(broadcaster, proposal):
    tx = refund(proposal)
    tx.vout[0].script_pubkey = Script(p2wpkh(private_key(key_secret("x", "y")).sec()))
    assert_rejected(broadcaster, proposal.open(refund=tx), "bad_refund")


def test_refund_that_is_not_a_transaction_is_bad_refund(broadcaster, proposal):
    assert_rejected(broadcaster, proposal.open(refund_tx="02000000" + "00" * 60), "bad_refund")


# ---- open: keys, value, addresses ----------------------------------------------

def test_viewer_key_equal_to_channel_key_is_bad_funding(broadcaster, proposal):
    msg = proposal.open(viewer_pubkey=broadcaster.offer.channel_pubkey)
    assert_rejected(broadcaster, msg, "bad_funding")


def test_viewer_key_off_the_curve_is_bad_funding(broadcaster, proposal):
    assert_rejected(broadcaster, proposal.open(viewer_pubkey="02" + "00" * 32), "bad_funding")


def test_uncompressed_viewer_key_is_bad_message(broadcaster, proposal):
    assert_rejected(broadcaster, proposal.open(viewer_pubkey="04" + "11" * 64), "bad_message")


def test_funding_value_below_min_deposit_is_bad_funding(broadcaster, proposal):
    msg = proposal.open()
    msg["funding"]["value"] = broadcaster.offer.terms.min_deposit_sat - 1
    assert_rejected(broadcaster, msg, "bad_funding")


def test_change_address_of_another_network_is_bad_funding(broadcaster, proposal):
    mainnet = script_address(proposal.change_script, "mainnet")
    assert_rejected(broadcaster, proposal.open(change_address=mainnet), "bad_funding")


def test_funding_vout_out_of_range_is_bad_message(broadcaster, proposal):
    msg = proposal.open()
    msg["funding"]["vout"] = 2**32
    assert_rejected(broadcaster, msg, "bad_message")


# ---- commit -------------------------------------------------------------------

def opened_for(broadcaster, proposal, funding_tx, value=None):
    """The broadcaster signed a refund for a channel the viewer announced with this T1's txid."""
    msg = proposal.open(channel=proposal.channel_for(funding_tx, value))
    assert broadcaster.receive(json.dumps(msg), START)[-1].message["type"] == "refund_sig"


def test_funding_paying_another_script_is_bad_funding(broadcaster, proposal):
    wrong = proposal.signed_funding(p2wsh(witness_script(proposal.key.sec(), proposal.key.sec())))
    opened_for(broadcaster, proposal, wrong)
    assert_rejected(broadcaster, proposal.commit(wrong), "bad_funding")


def test_funding_of_another_value_is_bad_funding(broadcaster, proposal):
    opened_for(broadcaster, proposal, proposal.funding_tx, value=proposal.channel.value - 1)
    assert_rejected(broadcaster, proposal.commit(), "bad_funding")


def test_funding_with_a_non_segwit_input_is_bad_funding(broadcaster, proposal):
    legacy = proposal.legacy_funding()
    opened_for(broadcaster, proposal, legacy)
    assert_rejected(broadcaster, proposal.commit(legacy), "bad_funding")


def test_funding_with_another_txid_is_bad_funding(broadcaster, proposal):
    bring_to(broadcaster, proposal, "refund_signed")
    other = proposal.signed_funding(proposal.channel_script, capacity=90_000)
    assert_rejected(broadcaster, proposal.commit(other), "bad_funding")


def test_commit_is_persisted_then_its_inputs_looked_up_then_broadcast(broadcaster, proposal):
    bring_to(broadcaster, proposal, "refund_signed")
    actions = broadcaster.receive(json.dumps(proposal.commit()), START)
    assert [a.kind for a in actions] == ["persist", "look_up_inputs"]
    assert actions[1].outpoints == tuple((c.txid, c.vout) for c in proposal.coins)
    (published,) = broadcaster.funding_inputs([c.value for c in proposal.coins], START)
    assert published.kind == "broadcast" and published.tx == broadcaster.funding_tx


@pytest.mark.parametrize("values, why", [([None], "does not know every coin"), ([1000], "below the offer's"),
                                         ([], "does not know every coin"), ([True], "does not know every coin")])
def test_a_funding_that_pays_less_than_the_offers_fee_rate_is_refused_and_not_broadcast(
        broadcaster, proposal, values, why):
    """v2 §B: T1's fee rate, from the chain's values of its inputs, is the offer's or more."""
    bring_to(broadcaster, proposal, "refund_signed")
    broadcaster.receive(json.dumps(proposal.commit()), START)
    actions = broadcaster.funding_inputs(values, START)
    assert [a.kind for a in actions] == ["persist", "send"] and why in actions[1].message["message"]
    assert actions[1].message["code"] == "bad_funding" and broadcaster.funding_tx is None
    assert broadcaster.state == "refund_signed"


# ---- pay ----------------------------------------------------------------------

def test_lower_payment_is_bad_payment(open_broadcaster, proposal):
    open_broadcaster.receive(json.dumps(proposal.pay(2000)), START)
    assert_rejected(open_broadcaster, proposal.pay(1500), "bad_payment")


def test_equal_payment_is_acknowledged_again_without_change(open_broadcaster, proposal):
    open_broadcaster.receive(json.dumps(proposal.pay(2000)), START)
    before = open_broadcaster.record()
    actions = open_broadcaster.receive(json.dumps(proposal.pay(2000)), START + 1)
    assert [a.message["type"] for a in actions] == ["pay_ack"] and actions[0].message["amount"] == 2000
    assert open_broadcaster.record() == before


def test_payment_over_capacity_is_bad_payment(open_broadcaster, proposal):
    over = proposal.channel.max_amount + 1
    assert_rejected(open_broadcaster, proposal.pay(over, sig=proposal.pay(1000)["sig"]), "bad_payment")


def test_payment_of_whole_capacity_is_accepted(open_broadcaster, proposal):
    actions = open_broadcaster.receive(json.dumps(proposal.pay(proposal.channel.max_amount)), START)
    assert [a.kind for a in actions] == ["persist", "send", "start_media"]


def test_payment_below_min_payment_is_bad_payment(open_broadcaster, proposal):
    assert_rejected(open_broadcaster, proposal.pay(293), "bad_payment")


def test_high_s_signature_is_bad_payment(open_broadcaster, proposal):
    assert_rejected(open_broadcaster, proposal.pay(2000, sig=high_s(proposal.pay(2000)["sig"])), "bad_payment")


@pytest.mark.parametrize("sighash", ["02", "03", "81", "00"])
def test_signature_with_another_sighash_type_is_bad_payment(open_broadcaster, proposal, sighash):
    assert_rejected(open_broadcaster, proposal.pay(2000, sig=proposal.pay(2000)["sig"][:-2] + sighash), "bad_payment")


def test_signature_for_another_amount_is_bad_payment(open_broadcaster, proposal):
    assert_rejected(open_broadcaster, proposal.pay(2001, sig=proposal.pay(2000)["sig"]), "bad_payment")


def test_accepted_payment_is_persisted_before_it_is_acknowledged(open_broadcaster, proposal):
    actions = open_broadcaster.receive(json.dumps(proposal.pay(2000)), START)
    assert [a.kind for a in actions][:2] == ["persist", "send"]
    assert actions[0].record["amount"] == 2000 and actions[1].message["type"] == "pay_ack"


# ---- state and form -------------------------------------------------------------

def test_payment_before_open_is_not_open(broadcaster, proposal):
    bring_to(broadcaster, proposal, "refund_signed")
    assert_rejected(broadcaster, proposal.pay(2000), "not_open")


def test_second_open_is_bad_message(open_broadcaster, proposal):
    assert_rejected(open_broadcaster, proposal.open(), "bad_message")


def test_payment_after_close_is_channel_closed(open_broadcaster, proposal):
    open_broadcaster.receive(json.dumps(proposal.pay(2000)), START)
    open_broadcaster.receive('{"v":2,"type":"close"}', START)
    assert open_broadcaster.state == "closing"
    assert_rejected(open_broadcaster, proposal.pay(3000), "channel_closed")


def test_oversized_message_is_bad_message(open_broadcaster, proposal):
    msg = proposal.pay(2000)
    msg["padding"] = "x" * 8192
    assert_rejected(open_broadcaster, msg, "bad_message")


@pytest.mark.parametrize("raw", ["{", "[]", "null", '{"v":2,"type":"pay","amount":NaN,"sig":"00"}',
                                 '{"v":2,"v":1,"type":"close"}', b"\xff\xfe", "{" * 5000 + "}" * 5000])
def test_malformed_json_is_bad_message(open_broadcaster, raw):
    assert_rejected(open_broadcaster, raw, "bad_message")


@pytest.mark.parametrize("amount", [True, 2000.0, "2000", -1, 2**63, None])
def test_payment_amount_of_wrong_type_is_bad_message(open_broadcaster, proposal, amount):
    msg = proposal.pay(2000)
    msg["amount"] = amount
    assert_rejected(open_broadcaster, msg, "bad_message")


@pytest.mark.parametrize("version", [1, 3])
def test_other_protocol_version_is_unsupported_version(open_broadcaster, proposal, version):
    msg = proposal.pay(2000)
    msg["v"] = version
    assert_rejected(open_broadcaster, msg, "unsupported_version")


def test_version_true_is_bad_message(open_broadcaster, proposal):
    msg = proposal.pay(2000)
    msg["v"] = True
    assert_rejected(open_broadcaster, msg, "bad_message")


def test_unknown_extra_fields_are_ignored(open_broadcaster, proposal):
    msg = proposal.pay(2000)
    msg["colour"] = "blue"
    assert open_broadcaster.receive(json.dumps(msg), START)[1].message["type"] == "pay_ack"


def test_flood_is_rate_limited_and_disconnected(open_broadcaster):
    for _ in range(20):
        open_broadcaster.receive('{"v":2,"type":"chat","text":"hi"}', START)
    actions = open_broadcaster.receive('{"v":2,"type":"chat","text":"hi"}', START)
    assert actions[0].message["code"] == "rate_limited" and actions[1].kind == "disconnect"


# ---- the viewer's checks ----------------------------------------------------------

def funding_pair():
    pair = Pair(channel_terms(), "viewer-checks", START)
    v = pair.viewer
    pair.run("viewer", v.connected(START))
    pair.run("broadcaster", pair.broadcaster.start())
    pair.run("viewer", v.accept(100_000, change_address("regtest"), START))
    pair.broadcaster_alive = False  # hold the open: the test plays the broadcaster
    pair.run("viewer", v.funded(fake_coins(v.funding_address, p2wpkh(v.key.sec()), 200_000), START))
    return pair


def test_viewer_rejects_a_refund_sig_that_does_not_verify_and_never_signs_funding():
    v = funding_pair().viewer
    wrong = v.channel.sign(private_key(key_secret("x", "y")), v.channel.refund_tx())
    assert_rejected(v, {"v": 2, "type": "refund_sig", "sig": wrong}, "bad_refund")
    assert v.funding_tx is None and v.state == "funding"


def test_viewer_stores_signed_refund_before_signing_funding():
    pair = funding_pair()
    v, b = pair.viewer, pair.broadcaster
    sig = b.receive(json.dumps(v._open_message()), START)[-1].message["sig"]
    actions = v.receive(json.dumps({"v": 2, "type": "refund_sig", "sig": sig}), START)
    assert [a.kind for a in actions] == ["persist", "persist", "send"]
    assert actions[0].record["refund_tx"] and actions[0].record["funding_tx"] is None
    assert actions[2].message["type"] == "commit"


def offer_for(terms, identity=b"\x01" * 32):
    return Broadcaster.new(terms, identity, key_secret("offer", "k2")).offer_message


def joining_viewer(network="regtest", identity=b"\x01" * 32):
    link = build_link("https://h", "s", private_key(identity).sec().hex())
    return Viewer.new(link, network, key_secret("offer", "k1"))


def test_viewer_shows_a_valid_offer_and_funds_nothing_yet():
    v = joining_viewer()
    actions = v.receive(json.dumps(offer_for(channel_terms()), ensure_ascii=False), START)
    assert [a.kind for a in actions] == ["show_offer"] and v.state == "joining"


def test_offer_signed_by_another_identity_is_bad_offer():
    assert_rejected(joining_viewer(), offer_for(channel_terms(), identity=b"\x02" * 32), "bad_offer")


def test_offer_with_a_tampered_field_is_bad_offer():
    msg = offer_for(channel_terms())
    msg["rate_sat_per_min"] += 1
    assert_rejected(joining_viewer(), msg, "bad_offer")


def test_offer_for_another_network_is_bad_offer():
    assert_rejected(joining_viewer("signet"), offer_for(channel_terms()), "bad_offer")


def test_offer_with_fee_rate_as_float_is_bad_message():
    msg = offer_for(channel_terms())
    msg["fee_rate_sat_vb"] = 2.0
    assert_rejected(joining_viewer(), msg, "bad_message")


def test_viewer_refuses_offers_taking_more_than_the_prepay_before_video_or_an_absurd_fee_rate():
    terms = channel_terms(rate_sat_per_min=1, min_payment_sat=180_000, min_deposit_sat=190_000)
    assert_rejected(joining_viewer(), offer_for_unchecked(terms), "bad_offer")
    # rate 6000 sat/min, prepay 15 s: up to 1,500 sat may be paid before any video arrives.
    assert_rejected(joining_viewer(), offer_for_unchecked(channel_terms(min_payment_sat=1501)), "bad_offer")
    v = joining_viewer()
    assert v.receive(json.dumps(offer_for_unchecked(channel_terms(min_payment_sat=1500))), START)[0].kind == "show_offer"
    assert v.offer.terms.first_payment_sat == 1500
    # The fee rate against the glue's own estimate, and the fees the UI shows before funding.
    with pytest.raises(ValueError, match="fee rate"):
        v.accept(100_000, change_address("regtest"), START, max_fee_rate=1)
    assert v.state == "joining" and v.close_fee() == v.close_fee(change_address("regtest")) > 0
    v.accept(100_000, change_address("regtest"), START, max_fee_rate=2)
    v.funded(fake_coins(v.funding_address, b"", v.funding_amount(100_000)), START)
    assert v.close_fee() == v.channel.close_fee
    assert v.refund_fee() == v.channel.value - v.channel.refund_tx().vout[0].value


def offer_for_unchecked(terms, identity=b"\x01" * 32):
    """A validly signed offer with any terms, even ones Terms.check refuses."""
    channel_key = private_key(key_secret("offer", "k2")).sec().hex()
    return Offer(terms, channel_key, private_key(identity).sec().hex()).message(identity)


def test_lock_time_leaving_no_time_before_settling_is_bad_refund_and_late_payments_close_instead():
    b = Broadcaster.new(channel_terms(refund_lock_s=600), key_secret("short", "identity"), key_secret("short", "k2"))
    b.start()
    p = Proposal(b, now=START - 600)  # a viewer clock 600 s behind: L = START, settle_at = START - 50
    assert_rejected(b, p.open(), "bad_refund")
    p = Proposal(b)
    bring_to(b, p, "open")
    actions = b.receive(json.dumps(p.pay(1500)), p.channel.settle_at)
    assert "start_media" not in [a.kind for a in actions] and b.amount == 0
    assert [a.message["type"] for a in actions if a.kind == "send"] == ["end", "release"]
    assert b.state == "settling"  # T1 is out: the release is watched until its spend is buried (v2 §C)


def test_offer_naming_the_viewers_key_as_channel_key_is_bad_offer_and_changes_nothing():
    pair = funding_pair()
    v = pair.viewer
    assert v.state == "funding" and v.utxos and v.channel  # K1 went out in `open`
    # The genuine broadcaster (or whoever holds its identity key) re-offers with K2 = K1.
    evil = Offer(v.offer.terms, v.key.sec().hex(), v.offer.identity_pubkey).message(key_secret("viewer-checks", "identity"))
    assert_rejected(v, evil, "bad_offer")
    assert v.channel.offer == v.offer
