"""Protocol v2 §A: a stranger who knows T1 (the funding txid and K1 are public once it is on
the chain) can neither resume, settle nor end someone else's channel, nor knock the viewer off."""

import json

from hypothesis import given, settings, strategies as st, HealthCheck

from app.channel import Broadcaster, Lobby, message
from app.channel import transactions as txs
from app.channel.signatures import private_key

from .conftest import Proposal, bring_to
from .full_channel import START, channel_terms, key_secret

STRANGER = private_key(key_secret("stranger", "key"))


def open_channel(seed="resume"):
    """A broadcaster streaming to a viewer that paid 1000 sat, and that viewer's Proposal."""
    b = Broadcaster.new(channel_terms(), key_secret(seed, "identity"), key_secret(seed, "k2"))
    b.start()
    p = Proposal(b)
    bring_to(b, p, "open")
    assert "start_media" in [a.kind for a in b.receive(json.dumps(p.pay(1000)), START)]
    return b, p


def kinds(actions):
    return [a.kind for a in actions]


def errors(actions):
    return [a.message["code"] for a in actions if a.kind == "send" and a.message["type"] == "error"]


def test_a_resume_signed_by_k1_is_accepted_and_media_waits_for_the_viewers_payment():
    b, p = open_channel()
    actions = b.resume(p.resume(START + 1), START + 1)
    assert kinds(actions) == ["persist", "stop_media", "send"] and actions[2].message["type"] == "pay_ack"
    assert b.last_resume_at == START + 1 and not b.streaming
    assert kinds(b.receive(json.dumps(p.pay(1000)), START + 2)) == ["send", "start_media"]


def test_a_strangers_resume_is_not_open_and_changes_nothing_not_even_the_media():
    b, p = open_channel()
    before = b.record()
    for forged in (p.resume(START + 1, key=STRANGER), dict(p.resume(START + 1), sig="30" * 8)):
        assert errors(b.receive(json.dumps(forged), START + 1)) == ["not_open"]
        assert b.record() == before and b.streaming


def test_a_resume_is_refused_when_replayed_stale_or_from_another_time():
    b, p = open_channel()
    b.resume(p.resume(START + 10), START + 10)
    for at, now in ((START + 10, START + 11), (START + 5, START + 11), (START + 400, START + 11),
                    (START - 300, START + 11)):
        assert errors(b.receive(json.dumps(p.resume(at)), now)) == ["not_open"], (at, now)
    assert b.last_resume_at == START + 10
    assert kinds(b.resume(p.resume(START + 12), START + 12))[0] == "persist"


def test_a_lobby_binds_only_after_hello_or_an_accepted_resume():
    b, p = open_channel()
    lobby = Lobby(lambda txid, k1: [b], lambda: None)
    for msg in (p.pay(2000), message("close"), message("chat", text="hi"), p.commit(),
                p.resume(START + 1, key=STRANGER)):
        actions = lobby.receive(json.dumps(msg), START + 1)
        assert errors(actions) == ["not_open"] and lobby.broadcaster is None
    assert b.state == "open" and b.amount == 1000 and b.streaming
    actions = lobby.receive(json.dumps(p.resume(START + 2)), START + 2)
    assert actions[0].kind == "bind" and actions[0].broadcaster is b and lobby.broadcaster is b


def test_a_hello_gets_a_channel_of_its_own_or_an_end_when_the_broadcast_takes_no_viewers():
    b, _ = open_channel()
    fresh = Broadcaster.new(channel_terms(), key_secret("resume", "identity"), key_secret("other", "k2"))
    lobby = Lobby(lambda txid, k1: [], lambda: fresh)
    actions = lobby.receive(json.dumps(message("hello")), START)
    assert kinds(actions) == ["bind", "persist", "send"] and actions[0].broadcaster is fresh
    assert actions[2].message["type"] == "offer"
    assert lobby.receive(json.dumps(message("chat", text="hi")), START)[0].message[
        "code"] == "not_open"  # said hello, opened nothing yet: no chat either
    ended = Lobby(lambda txid, k1: [], lambda: None).receive(json.dumps(message("hello")), START)
    assert [a.message for a in ended] == [message("end", reason="stopped")]


def wire(p, at_values):
    """Everything a stranger might send: the viewer's own messages copied off the chain or replayed,
    forged resumes, payments, closes, chats, junk."""
    ch = p.channel
    return st.one_of(
        st.sampled_from([message("close"), message("chat", text="hi"), message("unhold")]),
        st.builds(lambda a: p.pay(a), st.integers(1, 5000)),
        st.builds(lambda a: p.resume(a, key=STRANGER), at_values),
        st.builds(lambda a: message("resume", funding_txid=ch.funding.txid, viewer_pubkey=ch.viewer_pubkey,
                                    at=a, sig="30" * 8), at_values),
        st.just(p.commit()), st.just(p.open()), st.just(message("hello")),
        st.text(max_size=30),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_message_sequence_on_an_unauthenticated_connection_changes_a_channel(data):
    b, p = open_channel("property")
    replayed = p.resume(START + 5)
    b.resume(replayed, START + 5)  # the viewer resumed once; a stranger saw nothing of it but may replay it
    b.receive(json.dumps(p.pay(1000)), START + 5)  # and got its media back
    before = b.record()
    strangers = []

    def hello():  # the stranger may say hello, then `open` naming the victim's funding and K1
        fresh = Broadcaster.new(channel_terms(), key_secret("property", "identity"), key_secret("x", "k2"),
                                taken=lambda txid, k1: (txid, k1) == (b.channel.funding.txid, b.channel.viewer_pubkey))
        strangers.append(fresh)
        return fresh

    lobby = Lobby(lambda txid, k1: [b], hello)
    sequence = data.draw(st.lists(wire(p, st.integers(START - 400, START + 400)) | st.just(replayed),
                                  min_size=1, max_size=12))
    for i, msg in enumerate(sequence):
        raw = msg if isinstance(msg, str) else json.dumps(msg)
        lobby.receive(raw, START + 6 + i // 10)
        assert lobby.broadcaster in (None, *strangers)
    assert b.record() == before and b.streaming
    assert all(s.channel is None for s in strangers)  # an `open` naming the victim's funding is refused


def test_a_strangers_open_naming_someone_elses_funding_is_refused_and_files_nothing_in_its_place():
    b, p = open_channel("collide")
    taken = lambda txid, k1: (txid, k1) == (b.channel.funding.txid, b.channel.viewer_pubkey)  # noqa: E731
    fresh = Broadcaster.new(channel_terms(), key_secret("collide", "identity"), key_secret("collide-2", "k2"),
                            taken=taken)
    fresh.start()
    copy = dict(Proposal(fresh).open(), funding=p.open()["funding"], viewer_pubkey=b.channel.viewer_pubkey)
    assert errors(fresh.receive(json.dumps(copy), START)) == ["bad_funding"] and fresh.channel is None
    assert b.channel_id.endswith(b.offer.channel_pubkey)  # K2 in the filing key: ids of two offers never meet


def test_close_after_an_accepted_resume_settles_the_best_payment_and_never_releases_a_paid_channel():
    b, p = open_channel("resumed-close")
    for obj in (b, Broadcaster.from_record(b.record())):  # the live object, or one rebuilt after a reload
        obj.resume(p.resume(START + 1 + (obj is not b)), START + 2)
        actions = obj.receive(json.dumps(message("close")), START + 3)
        assert obj.state == "closing" and obj.release_sig is None
        (t3,) = [a for a in actions if a.kind == "broadcast"]
        assert txs.parse_tx(t3.tx, "").vout[0].value == 1000
