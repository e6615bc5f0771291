"""T1, T2, T3 shapes, fees and the strict signature rules."""

import pytest

from app.channel import ProtocolError, dust, funding_amount, transactions as txs
from app.channel.addresses import address_script, script_address
from app.channel.script import p2wpkh, p2wsh, witness_script
from app.channel.signatures import parse_signature, private_key, sign

from .full_channel import key_secret

K1 = private_key(key_secret("tx", "k1"))
K2 = private_key(key_secret("tx", "k2"))
WS = witness_script(K1.sec(), K2.sec())
CHANGE = p2wpkh(private_key(key_secret("tx", "change")).sec())
PAYOUT = p2wsh(b"payout")
FUNDING = txs.Outpoint("ab" * 32, 0)


@pytest.mark.parametrize("spk,threshold", [
    (b"\x00\x14" + bytes(20), 294), (b"\x00\x20" + bytes(32), 330), (b"\x51\x20" + bytes(32), 330),
    (b"\xa9\x14" + bytes(20) + b"\x87", 540), (b"\x76\xa9\x14" + bytes(20) + b"\x88\xac", 546)])
def test_dust_threshold_is_cores_at_three_sat_per_vbyte(spk, threshold):
    assert dust(spk) == threshold
    assert address_script(script_address(spk, "regtest"), "regtest") == spk


def test_address_of_another_network_is_rejected():
    with pytest.raises(ProtocolError):
        address_script(script_address(CHANGE, "mainnet"), "regtest")


def test_witness_script_is_two_of_two_with_the_viewer_key_first():
    assert WS == b"\x52\x21" + K1.sec() + b"\x21" + K2.sec() + b"\x52\xae"


def coin(value):
    return [txs.Utxo("cd" * 32, 1, value)]


def test_exact_funding_amount_funds_the_capacity_with_no_change():
    amount = funding_amount(100_000, 3)
    t1 = txs.funding_tx(coin(amount), p2wsh(WS), 100_000, CHANGE, 3)
    assert [(o.value, o.script_pubkey.data) for o in t1.vout] == [(100_000, p2wsh(WS))]
    assert amount - 100_000 == 3 * txs.signed_vsize(t1, txs.P2WPKH_WITNESS)


def test_excess_funding_returns_as_change_and_tiny_excess_goes_to_fees():
    amount = funding_amount(100_000, 1)
    t1 = txs.funding_tx(coin(amount + 10_000), p2wsh(WS), 100_000, CHANGE, 1)
    assert t1.vout[0].value == 100_000 and t1.vout[1].script_pubkey.data == CHANGE
    assert len(txs.funding_tx(coin(amount + 100), p2wsh(WS), 100_000, CHANGE, 1).vout) == 1


def test_short_funding_makes_a_smaller_channel():
    amount = funding_amount(100_000, 1)
    assert txs.funding_tx(coin(amount - 500), p2wsh(WS), 100_000, CHANGE, 1).vout[0].value == 99_500


def test_refund_fee_counts_73_byte_signatures_and_covers_the_real_size():
    t2 = txs.refund_tx(FUNDING, 100_000, CHANGE, 1_800_000_000, 2)
    vsize = txs.signed_vsize(t2, txs.MULTISIG_WITNESS)
    assert vsize == 138 and t2.vout[0].value == 100_000 - 2 * vsize
    digest = txs.multisig_sighash(t2, WS, 100_000)
    signed = txs.complete_multisig(t2, sign(K1, digest), sign(K2, digest), WS)
    full = len(signed.serialize())
    base = full - 2 - len(signed.vin[0].witness.serialize())
    assert -(-(3 * base + full) // 4) <= vsize


def test_payment_outputs_are_payout_then_change_with_one_close_fee():
    fee = txs.close_fee(PAYOUT, CHANGE, 2)
    t3 = txs.payment_tx(FUNDING, 100_000, 1_000, PAYOUT, CHANGE, fee)
    assert [(o.value, o.script_pubkey.data) for o in t3.vout] == [(1_000, PAYOUT), (100_000 - 1_000 - fee, CHANGE)]
    assert t3.locktime == 0 and t3.vin[0].sequence == 0xFFFFFFFF and t3.version == 2


def test_change_below_dust_is_left_out_and_t3_zero_has_no_payout():
    fee = txs.close_fee(PAYOUT, CHANGE, 2)
    near_all = 100_000 - fee - 293
    assert len(txs.payment_tx(FUNDING, 100_000, near_all, PAYOUT, CHANGE, fee).vout) == 1
    (only,) = txs.payment_tx(FUNDING, 100_000, 0, PAYOUT, CHANGE, fee).vout
    assert only.script_pubkey.data == CHANGE and only.value == 100_000 - fee


def test_signatures_are_low_s_der_with_sighash_all():
    sig = sign(K1, bytes(32))
    parse_signature(sig, "bad_payment")
    for bad in (sig[:-1] + b"\x02", sig[:-1], b"\x30" + sig[1:3] + b"\x00" + sig[3:], sig + b"\x01"):
        with pytest.raises(ProtocolError):
            parse_signature(bad, "bad_payment")


def test_transaction_hex_must_reserialize_to_the_same_bytes():
    t2 = txs.tx_hex(txs.refund_tx(FUNDING, 100_000, CHANGE, 1_800_000_000, 2))
    assert txs.tx_hex(txs.parse_tx(t2, "bad_refund")) == t2
    for bad in (t2 + "00", t2[:-2], "zz"):
        with pytest.raises(ProtocolError):
            txs.parse_tx(bad, "bad_refund")
