#!/usr/bin/env python3
"""Viewers per broadcaster: the most paying viewers one broadcaster page serves without lag.

The real app on serve.py (`--block-interval 0`), one broadcaster page with the fake camera
and the protocol's default terms (docs/protocol.md §8: `pay_interval_s` 5, `prepay_s` 15,
`grace_s` 10), and N viewers, each in its own browser context, each funding its own channel
from the devnet faucet. N grows through --counts (2, 4, 6, 8: viewers are added to the ones
already watching); at each N, once every viewer's video plays, a --window-second window
(60 s) is watched, and N passes when during it:

- no payment is late: on every sample (each second) and for every channel, the
  broadcaster's own `paid_until` (from the record it persists before each `pay_ack`:
  t0 + amount·60 // rate, app/channel/broadcaster.py) is not behind its clock, i.e. the
  viewer never let its prepaid time run out (the broadcaster would be serving on grace);
- no channel closed: every record stays `open` (an `unpaid` close is `end_reason` "unpaid",
  after `paid_until + grace_s`);
- every viewer's video advances: its <video>'s currentTime grows by ≥ 80 % of the window
  and it decodes frames (getVideoPlaybackQuality), and its channel state stays `open`.

The ramp stops at the first N that fails. The broadcaster runs in its own Chromium (the
viewers share another), so its CPU is read from /proc: user+system time of its renderer
process (the page: Pyodide, PeerJS, and WebRTC's encoders, one per viewer), and of the whole
browser (with the camera capture, network and GPU processes), over the window, per viewer,
in % of one core. Per thread and per process kind, and Chromium's main-thread counters (CDP
Performance.getMetrics TaskDuration/ScriptDuration), they go in the notes.

    .venv/bin/python bench/viewers.py [--counts 2,4,6,8] [--window 60] [--tiny] [--json FILE]
"""

import time

from common import cdp_metrics, emit, parser, row

import live

TARGET = 6
ADVANCE = 0.8


def add_viewers(world, link, viewers, n, one_at_a_time=False):
    """Viewers funded and watching until there are `n`; the new ones (`one_at_a_time`: each
    watches before the next follows the link, so its join is timed with the others watching)."""
    new = []
    while len(viewers) < n:
        v = world.viewer()
        live.open_and_fund(v, link, minutes=30)
        viewers.append(v)
        new.append(v)
        if one_at_a_time:
            live.wait_watching(v, timeout=90_000, past=1)
    for v in new:
        live.wait_watching(v, timeout=90_000, past=1)
    return new


def watch_window(broadcaster, cdp, viewers, window, every, sample=None):
    """Sample for `window` seconds; returns what the window showed (`sample`: a function also
    called at each CPU mark, its results in "samples")."""
    video0 = [v.evaluate(live.VIDEO_JS) for v in viewers]
    m0, cpu0, vcpu0 = cdp_metrics(cdp), live.CpuSample("broadcaster"), live.CpuSample("viewers")
    cpu_marks, margins, closed = [cpu0], {}, set()
    samples = [sample()] if sample else []
    start = time.monotonic()
    next_cpu = start + every
    while time.monotonic() - start < window:
        seen = broadcaster.evaluate(live.CHANNELS_JS)
        for ch in seen["channels"]:
            if ch["state"] != "open":
                closed.add((ch["key"][-12:], ch["state"], ch["end_reason"]))
            elif ch["t0"] is not None:
                margin = ch["paid_until"] - seen["now"]
                margins[ch["key"]] = min(margins.get(ch["key"], margin), margin)
        if time.monotonic() >= next_cpu:
            cpu_marks.append(live.CpuSample("broadcaster"))
            if sample:
                samples.append(sample())
            next_cpu += every
        time.sleep(1)
    m1, cpu1, vcpu1 = cdp_metrics(cdp), live.CpuSample("broadcaster"), live.CpuSample("viewers")
    if cpu1.at - cpu_marks[-1].at > every / 2:
        cpu_marks.append(cpu1)
        if sample:
            samples.append(sample())
    video1 = [v.evaluate(live.VIDEO_JS) for v in viewers]
    wall = cpu1.at - cpu0.at
    advance = [(b["t"] - a["t"]) / wall for a, b in zip(video0, video1)]
    fps = [(b["frames"] - a["frames"]) / wall for a, b in zip(video0, video1)]
    n = len(viewers)
    intervals = [live.cpu_delta(a, b) for a, b in zip(cpu_marks, cpu_marks[1:])]
    whole = live.cpu_delta(cpu0, cpu1)
    late = [m for m in margins.values() if m < 0]
    states = [b["state"] for b in video1]
    ok = (not late and not closed and len(margins) >= n and all(a >= ADVANCE for a in advance)
          and all(f > 0 for f in fps) and all(s == "open" for s in states))
    return {
        "n": n, "ok": ok, "wall": wall, **({"samples": samples} if sample else {}), "advance": advance, "fps": fps, "margins": list(margins.values()),
        "late": len(late), "closed": sorted(closed), "viewer_states": states,
        "sizes": sorted({f"{b['w']}×{b['h']}" for b in video1}),
        "renderer_pct_per_viewer": [100 * d["renderer"] / d["wall"] / n for d in intervals],
        "browser_pct_per_viewer": [100 * d["browser"] / d["wall"] / n for d in intervals],
        "whole": whole, "viewers_browser_pct": 100 * live.cpu_delta(vcpu0, vcpu1)["browser"] / wall,
        "main_thread": {k: (m1[k] - m0[k]) / wall for k in ("TaskDuration", "ScriptDuration", "LayoutDuration",
                                                            "RecalcStyleDuration")},
    }


def describe(steps) -> str:
    out = ["| N | passed | machine busy (2 cores) | broadcaster browser | its renderer | renderer main thread, CDP "
           "(wall time of tasks / of which script) | viewers' browser | video fps per viewer | lowest margin |",
           "|---|---|---|---|---|---|---|---|---|"]
    for s in steps:
        w = s["whole"]
        out.append(f"| {s['n']} | {'yes' if s['ok'] else 'no'} | {100 * w['machine']:.0f} % | "
                   f"{100 * w['browser'] / s['wall']:.0f} % | {100 * w['renderer'] / s['wall']:.0f} % | "
                   f"{100 * s['main_thread']['TaskDuration']:.0f} % / {100 * s['main_thread']['ScriptDuration']:.0f} % | "
                   f"{s['viewers_browser_pct']:.0f} % | "
                   f"{min(s['fps']):.1f}–{max(s['fps']):.1f} | {min(s['margins'], default=float('nan')):.0f} s |")
    out.append("\nCPU in % of one core over the window (200 % is the whole machine; \"machine busy\" is /proc/stat "
               "and counts everything running on it). The CDP main-thread figures are wall time of tasks, so they "
               "swell when the machine is saturated while the main thread's CPU time (below) stays small. "
               "Broadcaster, by process and by renderer thread (top 10; /proc truncates thread names to 15 "
               "characters), at each N:\n")
    for s in steps:
        w = s["whole"]
        kinds = ", ".join(f"{k} {100 * v / s['wall']:.0f} %" for k, v in sorted(w["kinds"].items(), key=lambda kv: -kv[1])
                          if v / s["wall"] >= 0.005)
        threads = ", ".join(f"`{k}` {100 * v / s['wall']:.0f} %" for k, v in
                            sorted(w["threads"].items(), key=lambda kv: -kv[1])[:10])
        why = ""
        if not s["ok"]:
            why = (f" Failed: {s['late']} late channel(s), closed {s['closed'] or 'none'}, video advance "
                   f"{min(s['advance']):.2f}× of wall time at worst, viewer states {sorted(set(s['viewer_states']))}.")
        out.append(f"- **N = {s['n']}** ({', '.join(s['sizes'])}): processes: {kinds}. Renderer threads: {threads}.{why}")
    return "\n".join(out)


def main():
    p = parser(__doc__)
    p.add_argument("--counts", default="2,4,6,8", help="viewer counts to try, in order (default 2,4,6,8)")
    p.add_argument("--window", type=float, default=60, help="seconds watched at each count (default 60)")
    args = p.parse_args()
    counts = [2] if args.tiny else [int(c) for c in args.counts.split(",")]
    window = 10 if args.tiny else args.window
    every = 2 if args.tiny else 10
    steps = []
    with live.live() as world:
        broadcaster, link = world.broadcast("Viewers bench", rate=1200, terms={})
        cdp = broadcaster.context.new_cdp_session(broadcaster)
        cdp.send("Performance.enable")
        viewers = []
        for n in counts:
            add_viewers(world, link, viewers, n)
            time.sleep(3)
            step = watch_window(broadcaster, cdp, viewers, window, every)
            steps.append(step)
            print(f"N={n}: {'pass' if step['ok'] else 'FAIL'}", flush=True)
            if not step["ok"]:
                break
    passed = [s["n"] for s in steps if s["ok"]]
    best = max(passed, default=0)
    rows = [row("viewers per broadcaster (largest N passing)", [best], "viewers", target=f"≥ {TARGET}",
                met=best >= TARGET, fmt="{:.0f}")]
    for s in steps:
        n = s["n"]
        rows += [row(f"{n} viewers: broadcaster renderer CPU per viewer", s["renderer_pct_per_viewer"],
                     "% core", fmt="{:.1f}"),
                 row(f"{n} viewers: broadcaster browser CPU per viewer (with capture, network, GPU processes)",
                     s["browser_pct_per_viewer"], "% core", fmt="{:.1f}"),
                 row(f"{n} viewers: video frame rate at each viewer", s["fps"], "fps", fmt="{:.1f}"),
                 row(f"{n} viewers: lowest payment margin (paid_until − now) per channel",
                     s["margins"] or [float("nan")], "s", fmt="{:.0f}")]
    notes = (f"Tried N = {', '.join(str(s['n']) for s in steps)} ({window:.0f} s each, viewers added to those "
             f"already watching); largest passing: {best}. CPU rows: one value per {every} s interval of the "
             "window. Frame rate and margin rows: one value per viewer/channel (the margin is the smallest "
             "seen in the window; prepay is 15 s, so a viewer paying on time keeps it near 15 − pay interval).\n\n"
             + describe(steps))
    emit(args, rows, notes, extra={"steps": steps})


if __name__ == "__main__":
    main()
