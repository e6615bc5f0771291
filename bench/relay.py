#!/usr/bin/env python3
"""Relay (Janus) against browser to browser: one broadcaster's upload, CPU and viewer count, P2P and through Janus.

Issue 15's benchmark, both modes side by side in one run, on one serve.py started with
`--sfu janus` (Debian's Janus WebRTC Server): in "p2p" mode the broadcaster leaves the relay
key empty and sends one WebRTC media call per viewer (the default); in "janus" mode it fills
`[data-testid=bc-relay-key]` with the relay's key (`<data dir>/janus/secrets.json`) before Go
live, publishes one stream to a room of its own, and each paying viewer takes it from Janus.
Janus sends no media over loopback, so serve.py, Janus and both Chromiums run in a network
namespace made here (tests/browser/relay_netns.py; the process must run as root).

The set-up is bench/viewers.py's (bench/live.py: the real app, the fake camera, the protocol's
default terms, every viewer its own browser context paying its own channel funded from the
devnet faucet; the broadcaster in its own Chromium so its CPU can be read from /proc). For each
mode, viewers are added one at a time (each watching before the next follows the link) until
there are N, for N in --counts (1, 2, 4, 8, 12, 16, 24, 32), and a --window-second window (60 s)
is watched; N passes on bench/viewers.py's criteria (no payment late, no channel closed, every
viewer's video advancing), and the ramp stops at the first N that fails (or a viewer that does
not start watching within 90 s). Measured at each N:

- the broadcaster's upload: the sum of `bytesSent` of every `outbound-rtp` of every
  RTCPeerConnection its page made (an init script records them all, PeerJS's and the relay's),
  per second over each --every interval (10 s) of the window, and how many outbound video
  streams there are;
- the broadcaster's CPU (its renderer and its whole browser, bench/live.py's CpuSample), the
  viewers' browser's, Janus's (/proc of the `janus` process serve.py started) and serve.py's
  own (signalling and devnet), and the whole machine's (/proc/stat);
- join to first frame of each viewer added (bench/join.py's clock: the faucet click to the first
  frame presented, in the viewer page), with the N − 1 before it watching.

    .venv/bin/python bench/relay.py [--counts 1,2,4,8,12,16,24,32] [--max N] [--modes p2p,janus]
                                    [--window 60] [--tiny] [--json FILE]   (as root)
"""

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import emit, parser, row

import live
import viewers

from tests.browser import relay_netns
from tests.conftest import free_port

UPLOAD_FLAT = 1.3  # Janus: the broadcaster's upload at 8 viewers ÷ at 1
RATIO = 3.0  # Janus's viewers per broadcaster ÷ P2P's
BUSY = 0.9  # the machine is the limit when its 2 cores are this busy over the failing window

# Every RTCPeerConnection the page makes (PeerJS's data and media calls, the relay's), in order;
# and, beside bench/live.py's join phases, the relay's: the broadcaster's admission arriving on
# the data channel, the page's WebSocket to Janus, the RTCPeerConnection made after it, its ICE
# gathering complete (the app sends whole SDP, trickle off) and its first track.
PCS = """
(() => {
  const pcs = window.__benchPcs = [];
  const mark = (name) => { const B = window.__bench; if (B && !(name in B.t)) B.t[name] = performance.now(); };
  const Real = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Real {
    constructor(...args) {
      super(...args);
      pcs.push(this);
      if (window.__bench && 'relay socket' in window.__bench.t) {
        mark('relay pc');
        this.addEventListener('icegatheringstatechange', () => {
          if (this.iceGatheringState === 'complete') mark('relay ice gathered'); });
        this.addEventListener('track', () => mark('relay track'));
      }
    }
  };
  const RealWS = window.WebSocket;
  window.WebSocket = class extends RealWS {
    constructor(url, protocols) {
      super(url, protocols);
      if ([].concat(protocols || []).includes('janus-protocol')) mark('relay socket');
    }
  };
  const create = Real.prototype.createDataChannel;
  Real.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    channel.addEventListener('message', (e) => {
      let text = e.data;
      try {
        if (typeof text !== 'string') text = new TextDecoder().decode(text instanceof ArrayBuffer ? new Uint8Array(text)
                                                 : new Uint8Array(text.buffer, text.byteOffset, text.byteLength));
        if (text.includes('"relay"') && JSON.parse(text).type === 'relay') mark('relay admission');
      } catch (err) {}
    });
    return channel;
  };
})();
"""
JOIN_PHASES = ["funding seen", "state refund_signed", "state open", "first pay sent", "first pay_ack",
               "relay admission", "relay socket", "relay pc", "relay ice gathered", "relay track", "stream attached",
               "first frame decoded", "first frame presented"]

# What each open RTCPeerConnection of the page has sent: outbound-rtp payload and header bytes
# (all kinds, and video alone), its outbound video and audio streams, and its transports' bytes
# (RTP, RTCP, data channels, DTLS, STUN).
UPLOAD_JS = """async () => {
  const out = [];
  for (const [i, pc] of window.__benchPcs.entries()) {
    if (pc.connectionState === 'closed') continue;
    const s = {i, bytes: 0, header: 0, video_bytes: 0, video: [], audio: 0, transport: 0};
    (await pc.getStats()).forEach(r => {
      if (r.type === 'transport') s.transport += r.bytesSent || 0;
      if (r.type !== 'outbound-rtp') return;
      s.bytes += r.bytesSent || 0;
      s.header += r.headerBytesSent || 0;
      if (r.kind === 'video') { s.video_bytes += r.bytesSent || 0; s.video.push(r.id); } else s.audio += 1;
    });
    out.push(s);
  }
  return out;
}"""


def janus_pid(server_pid):
    """The Janus serve.py started (a descendant named `janus`), or None."""
    for pid in live.process_tree(server_pid):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "janus":
                return pid
        except OSError:
            pass
    return None


class Sampler:
    """At each CPU mark of a window: the broadcaster page's RTP counters and Janus's and serve.py's CPU."""

    def __init__(self, broadcaster, server):
        self.broadcaster, self.server_pid = broadcaster, server.proc.pid
        self.janus = janus_pid(self.server_pid)

    def __call__(self):
        return {"at": time.monotonic(), "pcs": self.broadcaster.evaluate(UPLOAD_JS),
                "janus": live.cpu_seconds(self.janus) if self.janus else 0.0,
                "janus_threads": live.thread_seconds(self.janus) if self.janus else {},
                "serve": live.cpu_seconds(self.server_pid)}


def sent_between(a, b, key="bytes"):
    """Bytes sent between two samples, over the connections open at the second (new ones from 0)."""
    before = {pc["i"]: pc[key] for pc in a["pcs"]}
    return sum(max(0, pc[key] - before.get(pc["i"], 0)) for pc in b["pcs"])


def sending_video(a, b):
    """Outbound video streams whose connection's video bytes grew between two samples."""
    before = {pc["i"]: pc["video_bytes"] for pc in a["pcs"]}
    return sum(len(pc["video"]) for pc in b["pcs"] if pc["video"] and pc["video_bytes"] > before.get(pc["i"], 0))


def join_phases(page):
    """The join's phases, s after the faucet click; "first frame": presented (decoded if the
    callback did not fire)."""
    t = live.bench_times(page)
    if "faucet click" not in t:
        return {}
    out = {name: (t[name] - t["faucet click"]) / 1000 for name in JOIN_PHASES if name in t}
    first = out.get("first frame presented", out.get("first frame decoded"))
    if first is not None:
        out["first frame"] = first
    return out


def figures(step):
    """What the window's samples say: upload per interval, streams, Janus's and serve.py's CPU."""
    s = step["samples"]
    pairs = list(zip(s, s[1:]))
    wall = s[-1]["at"] - s[0]["at"]
    step["upload_kbps"] = [8 * sent_between(a, b) / (b["at"] - a["at"]) / 1000 for a, b in pairs]
    step["upload_video_kbps"] = [8 * sent_between(a, b, "video_bytes") / (b["at"] - a["at"]) / 1000 for a, b in pairs]
    step["upload_header_kbps"] = 8 * sent_between(s[0], s[-1], "header") / wall / 1000
    step["transport_kbps"] = 8 * sent_between(s[0], s[-1], "transport") / wall / 1000
    step["video_streams"] = [sum(len(pc["video"]) for pc in x["pcs"]) for x in s]
    step["video_sending"] = [sending_video(a, b) for a, b in pairs]
    step["connections"] = len(s[-1]["pcs"])
    step["janus_pct"] = [100 * (b["janus"] - a["janus"]) / (b["at"] - a["at"]) for a, b in pairs]
    step["janus_threads"] = {k: 100 * (v - s[0]["janus_threads"].get(k, 0.0)) / wall
                             for k, v in s[-1]["janus_threads"].items()}
    step["serve_pct"] = 100 * (s[-1]["serve"] - s[0]["serve"]) / wall
    # the machine's busy time not in the broadcaster's or viewers' browser, Janus or serve.py
    # (the benchmark's own process and Playwright's driver, the kernel's, anything else running)
    w = step["whole"]
    step["others_pct"] = (200 * w["machine"] - 100 * w["browser"] / step["wall"] - step["viewers_browser_pct"]
                          - statistics.median(step["janus_pct"]) - step["serve_pct"])
    # the broadcaster's whole CPU per interval (viewers.watch_window gives it per viewer)
    step["bc_browser_pct"] = [p * step["n"] for p in step["browser_pct_per_viewer"]]
    step["bc_renderer_pct"] = [p * step["n"] for p in step["renderer_pct_per_viewer"]]
    del step["samples"]  # raw counters: large, and summarised above
    return step


def ramp(world, mode, counts, window, every, key):
    """One broadcaster in `mode`, viewers added up to each count; the steps."""
    bc, link = world.broadcast(f"Relay bench {mode}", rate=1200, terms={}, relay_key=key if mode == "janus" else None)
    cdp = bc.context.new_cdp_session(bc)
    cdp.send("Performance.enable")
    sampler = Sampler(bc, world.server)
    if mode == "janus" and sampler.janus is None:
        raise RuntimeError("serve.py --sfu janus started no janus process")
    watching, steps = [], []
    for n in counts:
        try:
            new = viewers.add_viewers(world, link, watching, n, one_at_a_time=True)
        except Exception as failure:  # noqa: BLE001  (a viewer that never watches fails the count)
            steps.append({"n": n, "ok": False, "mode": mode,
                          "error": f"{len(watching)} viewers opened, not all watching within 90 s: "
                                   f"{str(failure).splitlines()[0][:200]}"})
            print(f"{mode} N={n}: FAIL ({steps[-1]['error']})", flush=True)
            break
        phases = [join_phases(v) for v in new]
        time.sleep(3)
        step = figures(viewers.watch_window(bc, cdp, watching, window, every, sample=sampler))
        step.update(mode=mode, join_phases=phases, joins=[j["first frame"] for j in phases if "first frame" in j])
        steps.append(step)
        print(f"{mode} N={n}: {'pass' if step['ok'] else 'FAIL'}; upload {statistics.median(step['upload_kbps']):.0f} "
              f"kbit/s, {max(step['video_streams'])} video streams, broadcaster {statistics.median(step['bc_browser_pct']):.0f} "
              f"% core, Janus {statistics.median(step['janus_pct']):.1f} %, machine {100 * step['whole']['machine']:.0f} % "
              f"busy, joins {', '.join(f'{j:.2f}' for j in step['joins'])} s", flush=True)
        if not step["ok"]:
            break
    for context in world.viewers.contexts + world.broadcasters.contexts:
        try:
            context.close()
        except Exception:  # noqa: BLE001
            pass
    world.viewers.contexts.clear()
    world.broadcasters.contexts.clear()
    time.sleep(5)  # Janus and the browsers let go of the closed pages
    return steps


def failure_of(step):
    if "error" in step:
        return step["error"]
    return (f"{step['late']} late channel(s), closed {step['closed'] or 'none'}, video advance "
            f"{min(step['advance']):.2f}× of wall time at worst, {min(step['fps']):.1f} fps at worst, viewer "
            f"states {sorted(set(step['viewer_states']))}")


def limit(steps, counts) -> str:
    """What stopped the ramp, with the figures that say so."""
    last = steps[-1] if steps else None
    if last is None:
        return "nothing ran"
    if last["ok"]:
        return f"not reached: every count tried passed (up to {last['n']}, the last of {counts})"
    window = last if "whole" in last else (steps[-2] if len(steps) > 1 else None)
    said = f"failed at N = {last['n']}: {failure_of(last)}."
    if window is None:
        return said
    busy = window["whole"]["machine"]
    where = (f" At N = {window['n']}{' (the last window)' if window is not last else ''}: the machine "
             f"{100 * busy:.0f} % busy (of 2 cores), the broadcaster's browser "
             f"{statistics.median(window['bc_browser_pct']):.0f} % of a core (renderer "
             f"{statistics.median(window['bc_renderer_pct']):.0f} %), the viewers' browser "
             f"{window['viewers_browser_pct']:.0f} %, Janus {statistics.median(window['janus_pct']):.1f} %, serve.py "
             f"{window['serve_pct']:.0f} %, everything else on the machine {window['others_pct']:.0f} %.")
    who = ("the machine: its 2 cores were saturated" if busy >= BUSY else
           "not the machine's CPU as a whole (below " f"{100 * BUSY:.0f} % busy)")
    return f"{said}{where} Limit: {who}."


def largest(steps):
    return max((s["n"] for s in steps if s["ok"]), default=0)


def upload_at(steps, n):
    s = next((s for s in steps if s["n"] == n and "upload_kbps" in s), None)
    return None if s is None else statistics.median(s["upload_kbps"])


def side_by_side(results) -> str:
    modes = list(results)
    ns = sorted({s["n"] for steps in results.values() for s in steps})
    head = ["N"]
    for m in modes:
        head += [f"{m}: passed", f"{m}: upload kbit/s (video streams)", f"{m}: broadcaster browser / renderer",
                 f"{m}: machine busy", f"{m}: viewers' browser", f"{m}: fps per viewer", f"{m}: join s"]
        if m == "janus":
            head.insert(len(head) - 5, "janus: Janus CPU")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in ns:
        cells = [str(n)]
        for m in modes:
            s = next((s for s in results[m] if s["n"] == n), None)
            width = 8 if m == "janus" else 7
            if s is None:
                cells += ["–"] * width
                continue
            if "whole" not in s:
                cells += ["no (not all watching)"] + ["–"] * (width - 1)
                continue
            c = [("yes" if s["ok"] else "**no**"),
                 f"{statistics.median(s['upload_kbps']):.0f} ({max(s['video_streams'])})",
                 f"{statistics.median(s['bc_browser_pct']):.0f} % / {statistics.median(s['bc_renderer_pct']):.0f} %",
                 f"{100 * s['whole']['machine']:.0f} % (others {s['others_pct']:.0f} %)",
                 f"{s['viewers_browser_pct']:.0f} %",
                 f"{min(s['fps']):.1f}–{max(s['fps']):.1f}",
                 ", ".join(f"{j:.2f}" for j in s["joins"]) or "–"]
            if m == "janus":
                c.insert(2, f"{statistics.median(s['janus_pct']):.1f} %")
            cells += c
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def join_breakdown(results) -> str:
    """Median of each join phase, per mode (s after the faucet click, over every viewer added)."""
    phases = [*JOIN_PHASES, "first frame"]
    out = ["| phase (s after the faucet click, median of every join) | " + " | ".join(results) + " |",
           "|---|" + "---|" * len(results)]
    for name in phases:
        cells = []
        for steps in results.values():
            values = [j[name] for s in steps for j in s.get("join_phases", []) if name in j]
            cells.append(f"{statistics.median(values):.2f}" if values else "–")
        if any(c != "–" for c in cells):
            out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    p = parser(__doc__)
    p.add_argument("--counts", default="1,2,4,8,12,16,24,32", help="viewer counts, in order (default 1,2,4,8,12,16,24,32)")
    p.add_argument("--max", type=int, help="stop after this many viewers")
    p.add_argument("--modes", default="p2p,janus", help="which modes, in order (default p2p,janus)")
    p.add_argument("--window", type=float, default=60, help="seconds watched at each count (default 60)")
    p.add_argument("--every", type=float, default=10, help="seconds per CPU and upload interval (default 10)")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/relay.py runs serve.py, Janus and Chromium in a network namespace: run it as root")
    if shutil.which("janus") is None:
        sys.exit("Janus is not installed (apt-get install -y janus)")
    counts = [1, 2] if args.tiny else [int(c) for c in args.counts.split(",")]
    counts = [c for c in counts if args.max is None or c <= args.max]
    window = 10 if args.tiny else args.window
    every = 2 if args.tiny else args.every
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    ns = f"streamium-relay-bench-{os.getpid()}"
    results = {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    relay_netns.create(ns)
    try:
        with tempfile.TemporaryDirectory() as tmp, relay_netns.inside(ns):
            options = {"server_args": ("--sfu", "janus", "--sfu-port", str(free_port()),
                                       "--sfu-interface", relay_netns.INTERFACE),
                       "executable_path": relay_netns.chromium_inside(ns, Path(tmp)), "init_script": PCS}
            with live.live(**options) as world:
                key = json.loads((world.server.data_dir / "janus" / "secrets.json").read_text())["room_admin_key"]
                for mode in modes:
                    results[mode] = ramp(world, mode, counts, window, every, key)
    finally:
        relay_netns.delete(ns)

    rows = []
    best = {m: largest(steps) for m, steps in results.items()}
    for m, steps in results.items():
        rows.append(row(f"{m}: viewers per broadcaster (largest N passing)", [best[m]], "viewers", fmt="{:.0f}"))
    if "p2p" in best and "janus" in best:
        ratio = best["janus"] / best["p2p"] if best["p2p"] else float("nan")
        rows.append(row("viewers per broadcaster, Janus ÷ P2P", [ratio], "×", target=f"≥ {RATIO:.0f}×",
                        met=ratio >= RATIO, note="see what limited each mode"))
    for m, steps in results.items():
        top = max((s["n"] for s in steps if "upload_kbps" in s and s["n"] <= 8), default=None)
        one, there = upload_at(steps, 1), upload_at(steps, top) if top else None
        if one and there and top > 1:
            flat = there / one
            rows.append(row(f"{m}: broadcaster upload, {top} viewers ÷ 1 viewer", [flat], "×",
                            **({"target": f"≤ {UPLOAD_FLAT}×", "met": flat <= UPLOAD_FLAT} if m == "janus" else {})))
    for m, steps in results.items():
        joins = [j for s in steps for j in s.get("joins", [])]
        if joins:
            rows.append(row(f"{m}: join to first frame, every viewer (faucet click → first frame presented)", joins, "s"))
    for m, steps in results.items():
        for s in steps:
            if "upload_kbps" not in s:
                continue
            n = s["n"]
            rows += [row(f"{m}, {n} viewers: broadcaster upload (outbound-rtp bytesSent)", s["upload_kbps"], "kbit/s",
                         fmt="{:.0f}"),
                     row(f"{m}, {n} viewers: broadcaster's outbound video streams", s["video_streams"], "streams",
                         fmt="{:.0f}"),
                     row(f"{m}, {n} viewers: broadcaster browser CPU (all its processes)", s["bc_browser_pct"],
                         "% core", fmt="{:.0f}")]
            if m == "janus":
                rows.append(row(f"janus, {n} viewers: Janus CPU", s["janus_pct"], "% core", fmt="{:.1f}"))
            if s["joins"]:
                rows.append(row(f"{m}, {n} viewers: join to first frame of the viewer(s) added", s["joins"], "s"))
    limits = {m: limit(steps, counts) for m, steps in results.items()}
    notes = (f"Run started {started}; counts tried {', '.join(map(str, counts))}, {window:.0f} s watched at each, CPU "
             f"and upload rows one value per {every:.0f} s interval of it (outbound video streams: one per sample), "
             "join rows one value per viewer added (each joins with the others already watching).\n\n"
             + side_by_side(results) + "\n\nCPU in % of one core (the machine has 2); machine busy from /proc/stat "
             "in % of both cores, \"others\" its busy time outside the two browsers, Janus and serve.py (this "
             "process, Playwright's driver, the kernel, anything else running), in % of one core. Upload: RTP payload "
             "(outbound-rtp bytesSent) of every RTCPeerConnection of the broadcaster page, audio and video.\n\n"
             + "\n".join(f"- **{m}**: {text}" for m, text in limits.items()) + "\n\n" + join_breakdown(results))
    emit(args, rows, notes, extra={"steps": results, "limits": limits, "counts": counts, "window": window})


if __name__ == "__main__":
    main()
