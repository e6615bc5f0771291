"""The event loop of the CPython programs that carry many small requests, paywall.py and pay.py:
uvloop's (libuv, in C) in place of asyncio's own. A paid request wakes the loop more often than a
free one (its ledger commit, its receipt), so the loop's own cost weighs more on it: measured in
bench/paid_api.py, the paywall's CPU per paid request fell by about a sixth (docs/benchmarks.md).
"""

import uvloop


def run(coroutine):
    """asyncio.run on uvloop's loop."""
    return uvloop.run(coroutine)


def new_loop():
    """A loop for aiohttp's web.run_app."""
    return uvloop.new_event_loop()
