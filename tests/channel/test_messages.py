"""Message form, canonical JSON, the offer's identity signature and the share link."""

import hashlib
import json

import pytest
from embit import ec

from app.channel import Broadcaster, ProtocolError, build_link, canonical_json, parse_link, parse_message
from app.channel.messages import message

from .full_channel import channel_terms, key_secret


def test_canonical_json_sorts_keys_without_spaces_and_keeps_non_ascii():
    assert canonical_json({"b": 1, "a": "é✓"}) == '{"a":"é✓","b":1}'.encode("utf-8")


def test_offer_signature_is_identity_ecdsa_over_sha256_of_canonical_json_without_sig():
    identity = key_secret("msg", "identity")
    offer = Broadcaster.new(channel_terms(), identity, key_secret("msg", "k2")).offer_message
    unsigned = {k: v for k, v in offer.items() if k != "sig"}
    digest = hashlib.sha256(json.dumps(unsigned, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).digest()
    pub = ec.PrivateKey(identity).get_public_key()
    assert pub.verify(ec.Signature.parse(bytes.fromhex(offer["sig"])), digest)
    assert offer["identity_pubkey"] == pub.sec().hex() and offer["v"] == 2
    assert parse_message(json.dumps(offer)) == offer


@pytest.mark.parametrize("msg", [
    message("hello"), message("close"), message("end", reason="exhausted"),
    message("resume", funding_txid="ab" * 32, viewer_pubkey="02" + "11" * 32, at=1_700_000_000, sig="30" * 8),
    message("hold", reason="unconfirmed"), message("unhold"), message("end", reason="funding_gone"),
    message("chat", text="hi", **{"from": "host"}), message("error", code="bad_payment", message="no"),
    message("pay_ack", amount=5, paid_until=1_700_000_000), message("closed", txid="00" * 32)])
def test_well_formed_messages_parse(msg):
    assert parse_message(json.dumps(msg)) == msg
    assert parse_message(msg) == msg


@pytest.mark.parametrize("msg", [
    message("end", reason="bored"), message("chat", text="x" * 501), message("commit_ack", txid="AB" * 32),
    message("pay_ack", amount=5), {"type": "hello"}, message("teleport"), message("hello") | {"type": 3},
    message("hold", reason="bored"), message("resume", funding_txid="ab" * 32, viewer_pubkey="02" + "11" * 32)])
def test_malformed_messages_are_bad_message(msg):
    with pytest.raises(ProtocolError) as e:
        parse_message(json.dumps(msg))
    assert e.value.code == "bad_message"


def test_share_link_round_trips_and_pins_the_identity_key():
    key = "03" + "ab" * 32
    link = build_link("https://streamium.example/", "Late night / jazz", key)
    assert link == "https://streamium.example/#/watch/Late%20night%20%2F%20jazz/" + key
    parsed = parse_link(link)
    assert (parsed.stream, parsed.identity_pubkey) == ("Late night / jazz", key)
    assert parse_link("#/watch/x/" + key.upper()).identity_pubkey == key


@pytest.mark.parametrize("bad", ["https://h/#/watch/x/04" + "ab" * 32, "https://h/#/watch/x/02" + "ab" * 31,
                                 "https://h/watch/x/02" + "ab" * 32, "https://h/#/watch//02" + "ab" * 32])
def test_malformed_share_links_are_refused(bad):
    with pytest.raises(ValueError):
        parse_link(bad)


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"'])
def test_an_escaped_lone_surrogate_is_bad_message_not_a_crash(text):
    """"\\ud800" is valid JSON but no Unicode text: it cannot be UTF-8 encoded, so it could
    never be signed or shown. The viewer answers `error` instead of raising."""
    with pytest.raises(ProtocolError) as e:
        parse_message('{"v":2,"type":"chat","text":' + text + '}')
    assert e.value.code == "bad_message"


def test_a_viewer_answers_an_offer_holding_a_lone_surrogate_with_an_error():
    from app.channel import Viewer
    identity = key_secret("surrogate", "identity")
    offer = Broadcaster.new(channel_terms(), identity, key_secret("surrogate", "k2")).offer_message
    raw = json.dumps(offer).replace('"name": "', '"name": "\\ud800', 1)
    link = build_link("https://h", "s", ec.PrivateKey(identity).get_public_key().sec().hex())
    viewer = Viewer.new(link, "regtest", key_secret("surrogate", "k1"))
    (answer,) = viewer.receive(raw, 1_700_000_000)
    assert answer.message["type"] == "error" and answer.message["code"] == "bad_message"
    assert viewer.state == "joining" and viewer.offer is None


def test_terms_holding_a_lone_surrogate_cannot_be_offered():
    from app.channel.errors import ProtocolError as Refused
    with pytest.raises(Refused) as e:
        channel_terms(name="live \ud800").check()
    assert e.value.code == "bad_offer"
