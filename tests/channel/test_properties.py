"""Property tests: honest payment sequences keep every invariant; mutated messages
are rejected, or accepted only when the broadcaster still holds a valid T3 worth no less."""

import json

from hypothesis import given, settings, strategies as st, HealthCheck

from app.channel import Broadcaster, parse_message, transactions as txs
from app.channel.broadcaster import check_funding, check_refund

from .conftest import Proposal, bring_to
from .full_channel import START, Pair, channel_terms, fake_coins, key_secret, open_channel

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_best_t3_valid(b: Broadcaster):
    if b.amount:
        ch = b.channel
        ch.verify(ch.viewer_pubkey, b.pay_sig, ch.payment_tx(b.amount), "bad_payment")


@FAST
@given(st.lists(st.tuples(st.integers(1, 12), st.booleans()), min_size=1, max_size=40),
       st.integers(60, 20_000), st.integers(0, 60))
def test_honest_payments_never_decrease_never_run_ahead_of_video_and_stay_valid(steps, rate, prepay):
    pair = Pair(channel_terms(rate_sat_per_min=rate, prepay_s=prepay), "prop", START)
    open_channel(pair, 100_000, fake_coins)
    pair.confirm_pending()
    v, b = pair.viewer, pair.broadcaster
    terms, video_s, last = v.offer.terms, 0, b.amount
    for seconds, video in steps:
        if video and pair.media:
            video_s += seconds
        pair.step(seconds, video=video)
        assert b.amount >= last
        last = b.amount
        assert_best_t3_valid(b)
        justified = max(terms.min_payment_sat, -(-rate * (video_s + prepay) // 60))
        assert v.amount <= min(justified, v.channel.max_amount)
        if v.state != "open":
            break


def mutate_text(text: str, data) -> str:
    """Flip, drop or insert one character of the JSON text."""
    i = data.draw(st.integers(0, len(text) - 1))
    how = data.draw(st.sampled_from(["flip", "drop", "insert"]))
    c = data.draw(st.sampled_from('0123456789abcdef"{}[],:-. xtrue'))
    if how == "drop":
        return text[:i] + text[i + 1:]
    return text[:i] + c + text[i + (how == "flip"):]


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**64, 2**64), st.floats(allow_nan=False),
                        st.text(max_size=20), st.just("00" * 33), st.lists(st.integers(), max_size=2))


def mutate_field(msg: dict, data) -> dict:
    """Replace one field, possibly nested, with an arbitrary JSON value, or flip one hex digit."""
    msg = json.loads(json.dumps(msg))
    target = msg
    key = data.draw(st.sampled_from(sorted(msg)))
    if isinstance(target[key], dict):
        target = target[key]
        key = data.draw(st.sampled_from(sorted(target)))
    value = target[key]
    if isinstance(value, str) and data.draw(st.booleans()) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        target[key] = value[:i] + data.draw(st.sampled_from("0123456789abcdef")) + value[i + 1:]
    else:
        target[key] = data.draw(JSON_VALUES)
    return msg


def mutated(msg: dict, data) -> str:
    if data.draw(st.booleans()):
        return mutate_text(json.dumps(msg), data)
    return json.dumps(mutate_field(msg, data))


def fresh(state: str):
    b = Broadcaster.new(channel_terms(), key_secret("mut", "identity"), key_secret("mut", "k2"))
    b.start()
    p = Proposal(b)
    if state != "offered":
        bring_to(b, p, state)
    return b, p


def outcome(b: Broadcaster, raw: str):
    before = b.record()
    actions = b.receive(raw, START)
    rejected = len(actions) == 1 and actions[0].kind == "send" and actions[0].message["type"] == "error"
    if rejected:
        assert b.record() == before
    return rejected, before


@FAST
@given(st.data())
def test_mutated_open_is_rejected_or_the_signed_refund_passes_every_check(data):
    b, p = fresh("offered")
    raw = mutated(p.open(), data)
    rejected, _ = outcome(b, raw)
    if not rejected:
        t2 = txs.parse_tx(parse_message(raw)["refund_tx"], "")
        check_refund(b.channel, t2, START)
        ch = b.channel
        ch.verify(ch.offer.channel_pubkey, b.refund_sig, t2, "bad_refund")


@FAST
@given(st.data())
def test_mutated_commit_is_rejected_or_is_the_announced_funding(data):
    b, p = fresh("refund_signed")
    raw = mutated(p.commit(), data)
    rejected, _ = outcome(b, raw)
    if not rejected:
        check_funding(b.channel, txs.parse_tx(b.funding_tx, ""))


@FAST
@given(st.data())
def test_mutated_payment_is_rejected_or_leaves_a_valid_t3_worth_no_less(data):
    b, p = fresh("open")
    b.receive(json.dumps(p.pay(5_000)), START)
    rejected, before = outcome(b, mutated(p.pay(6_000), data))
    assert b.amount >= before["amount"]
    assert_best_t3_valid(b)
