"""The broadcaster's `pay` handling, timed; the same source runs in CPython and in the page's Pyodide.

In the page this file is appended to tests/channel/full_channel.py's source (the
page's app.zip has app.channel but not the tests), so the import below may fail there.
"""

import json
import time

from app.channel.messages import message

try:
    from tests.channel.full_channel import START, Pair, channel_terms, fake_coins, open_channel
except ImportError:  # in the page: full_channel's source came first
    pass

SEED = "bench-pay"
CAPACITY = 200_000


def open_pair():
    """A Viewer and a Broadcaster with an open channel (T1 accepted, first payment made)."""
    pair = Pair(channel_terms(), SEED, START)
    open_channel(pair, CAPACITY, fake_coins)
    pair.confirm_pending()
    assert pair.viewer.state == pair.broadcaster.state == "open"
    return pair


def pay_messages(pair, count):
    """`count` valid `pay` messages (JSON text), amounts strictly above the accepted one."""
    v, b = pair.viewer, pair.broadcaster
    ch = v.channel
    first = b.amount + 1
    assert first + count <= ch.max_amount
    out = []
    for amount in range(first, first + count):
        sig = ch.sign(v.key, ch.payment_tx(amount))
        out.append(json.dumps(message("pay", amount=amount, sig=sig)))
    return out


def time_payments(broadcaster, messages, now):
    """Seconds to handle each batch: receive (parse, build T3, verify), then serialise the record."""
    start = time.perf_counter()
    for i, text in enumerate(messages):
        actions = broadcaster.receive(text, now + i // 20)  # 20 a second: the rate limit
        persist = actions[0]
        assert persist.kind == "persist", actions
        json.dumps(persist.record)  # the glue stores this record before pay_ack leaves
    return time.perf_counter() - start


def run(messages_per_run, runs, messages=None):
    """Per-second rates for `runs` batches of `messages_per_run` payments (messages built here if not given)."""
    pair = open_pair()
    if messages is None:
        messages = pay_messages(pair, messages_per_run * runs)
    rates, now = [], pair.now + 1
    for r in range(runs):
        batch = messages[r * messages_per_run:(r + 1) * messages_per_run]
        rates.append(len(batch) / time_payments(pair.broadcaster, batch, now))
        now += len(batch) // 20 + 1
    return rates
