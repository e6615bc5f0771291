#!/usr/bin/env python3
"""Payment round trip: `pay` sent → `pay_ack` received, over the real PeerJS data connection.

The real app on serve.py (`--block-interval 0`), one broadcaster with the fake camera and,
per run, a new viewer (own browser context) that funds a channel from the devnet faucet and
watches while it pays. Terms: e2e_support.FAST_TERMS with `pay_interval_s` 1, the protocol's
minimum (docs/protocol.md §4: 1 … 3,600 s), so a viewer pays about once a second (its
clock ticks every second and a `pay` goes out when the bound grew, §5); the 20-messages-a-
second limit (app/channel/peer.py) is never near. 200 payments need 200 s of watching, so
they are taken as --runs channels of --payments / --runs each, one after the other (one
viewer at a time, so the round trip is not also a measure of several viewers' load).

The broadcaster's share is timed the same way in its page: the `pay`
arriving on its data channel → the `pay_ack` for that amount leaving.

Timed in the viewer page without touching app/ (bench/live.py's PROBE): the `pay` leaving
through RTCDataChannel.send, the `pay_ack` for that amount arriving on the channel's
`message` event. So each round trip is: viewer's data channel → loopback SCTP/DTLS →
broadcaster's PeerJS → Python (parse, build T3, BIP143 sighash, ECDSA verify in Pyodide,
persist the record in localStorage) → `pay_ack` back the same way.

    .venv/bin/python bench/roundtrip.py [--runs 5] [--payments 200] [--tiny] [--json FILE]
"""

import time

from common import emit, parser, row

import live

P50, P99 = 15.0, 40.0
TERMS = {**live.FAST_TERMS, "bc-pay-interval": 1}


def one_channel(world, link, count, timeout):
    viewer = world.viewer()
    live.open_and_fund(viewer, link, minutes=10)
    live.wait_until(lambda: len(live.rtts(viewer)) >= count, timeout=timeout, interval=1,
                    what=f"{count} pay_acks")
    values = live.rtts(viewer)[:count]
    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    viewer.context.close()
    return values


def main():
    p = parser(__doc__)
    p.add_argument("--payments", type=int, default=200, help="payments in all (default 200)")
    args = p.parse_args()
    runs, total = (1, 10) if args.tiny else (args.runs, args.payments)
    per_run = -(-total // runs)
    batches = []
    with live.live() as world:
        broadcaster, link = world.broadcast("Round trip bench", rate=1200, terms=TERMS)
        for _ in range(runs):
            batches.append(one_channel(world, link, per_run, timeout=per_run * 3 + 60))
            time.sleep(1)
        handled = broadcaster.evaluate("window.__bench.handled.slice()")
    values = [v for b in batches for v in b]
    p50, p99 = live.percentile(values, 50), live.percentile(values, 99)
    rows = [row("payment round trip p50 (pay → pay_ack)", [p50], "ms", target=f"≤ {P50:.0f} ms",
                met=p50 <= P50, fmt="{:.1f}"),
            row("payment round trip p99", [p99], "ms", target=f"≤ {P99:.0f} ms", met=p99 <= P99, fmt="{:.1f}"),
            row("payment round trip, single payments", values, "ms", fmt="{:.1f}"),
            row("… p99 without each channel's first payment (it shares its moment with the media call set-up)",
                [live.percentile([v for b in batches for v in b[1:]] or values, 99)], "ms", fmt="{:.1f}"),
            row("… of which the broadcaster's handling (pay arrives → pay_ack leaves, in its page)", handled, "ms",
                fmt="{:.1f}"),
            row("… broadcaster's handling p99", [live.percentile(handled, 99)], "ms", fmt="{:.1f}"),
            row("… median of each channel", [sorted(b)[len(b) // 2] for b in batches], "ms", fmt="{:.1f}")]
    notes = (f"{len(values)} payments over {runs} channel(s) of {per_run}, one viewer at a time, "
             "`pay_interval_s` 1. p50/p99 are nearest-rank percentiles over all single payments (the "
             "runs column of those two rows is 1: one figure from all of them).")
    emit(args, rows, notes, extra={"rtt_ms": batches, "handled_ms": handled})


if __name__ == "__main__":
    main()
