#!/usr/bin/env python3
"""Join to first frame: the viewer clicks "Fund from faucet" → the first video frame in its <video>.

The real app on serve.py (`--block-interval 0`, a fresh devnet), one broadcaster live with
the fake camera (e2e_support.FAST_TERMS), and per run a new viewer in its own browser
context: boot the page (not timed), follow the share link, accept the offer, click "Fund
from faucet". Timed in the viewer page (bench/live.py's PROBE, performance.now()) from
that click to the first frame of the remote <video>: its `loadeddata` (first frame decoded,
readyState ≥ 2), and the first requestVideoFrameCallback (first frame presented). The
phases between come from the same page: the funding seen by the page's address poll, the
channel state turning `refund_signed` then `open` (T1 accepted), the first `pay`, the media
call's stream attached. The viewer's context is closed after each run.

    .venv/bin/python bench/join.py [--runs 5] [--tiny] [--json FILE]
"""

import statistics
import time

from common import emit, parser, row

import live

TARGET = 2.0
PHASES = ["funding seen", "state refund_signed", "state open", "first pay sent", "stream attached",
          "first frame decoded", "first frame presented"]


def one_join(world, link):
    viewer = world.viewer()
    live.open_and_fund(viewer, link, minutes=5)
    viewer.wait_for_function("() => 'first frame decoded' in window.__bench.t", timeout=60_000)
    try:  # the presented-frame callback follows within a frame or two
        viewer.wait_for_function("() => 'first frame presented' in window.__bench.t", timeout=5_000)
    except Exception:  # noqa: BLE001  (not every build fires it headless: the decoded frame stands)
        pass
    t = live.bench_times(viewer)
    viewer.context.close()
    start = t["faucet click"]
    return {name: (t[name] - start) / 1000 for name in PHASES if name in t}


def main():
    args = parser(__doc__).parse_args()
    runs = 1 if args.tiny else args.runs
    joins = []
    with live.live() as world:
        _, link = world.broadcast("Join bench", rate=1200)
        for _ in range(runs):
            joins.append(one_join(world, link))
            time.sleep(1)
    decoded = [j["first frame decoded"] for j in joins]
    presented = [j.get("first frame presented", j["first frame decoded"]) for j in joins]
    rows = [row("join to first frame (faucet click → first frame presented)", presented, "s",
                target=f"≤ {TARGET:.1f} s median", met=statistics.median(presented) <= TARGET),
            row("… first frame decoded (`loadeddata`)", decoded, "s"),
            row("… funding seen → first frame presented (the app's part, without the address poll)",
                [p - j["funding seen"] for p, j in zip(presented, joins)], "s")]
    for name in PHASES[:-2]:
        values = [j[name] for j in joins if name in j]
        if values:
            rows.append(row(f"… {name}", values, "s"))
    missing = sum("first frame presented" not in j for j in joins)
    notes = (f"{len(joins)} joins, one fresh viewer context each, to one broadcaster. Phases are seconds after "
             "the faucet click, in the viewer page. The page checks its funding address every 2 s, and at once "
             "when the faucet has answered (app/ui/watch.py `poll_funding`), so \"funding seen\" is one faucet "
             "call and one address lookup after the click. Before that check was added the page waited for the "
             "next 2 s poll, and the median was 2.82 s (2.44–3.14), the target missed by the poll alone. A payment "
             "from an outside wallet is still seen at the next poll, within 2 s."
             + (f" requestVideoFrameCallback did not fire in {missing} run(s): the decoded frame was used."
                if missing else ""))
    emit(args, rows, notes, extra={"joins": joins})


if __name__ == "__main__":
    main()
