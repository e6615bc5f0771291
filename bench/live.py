"""Shared set-up for the benchmarks that need the whole app live: a broadcaster and paying viewers.

Everything is the real thing, driven the way tests/browser/test_e2e_channels.py drives it
(and with its helpers, tests/browser/e2e_support.py): index.html on serve.py (started with
tests.conftest.ServerProcess, `--block-interval 0`, a temporary devnet), PeerJS over our
signalling, Chromium's fake camera, the devnet faucet. Nothing in app/ is changed: what the
benchmarks time is read from the outside, by PROBE, an init script added to viewer pages:

- `window.__bench.rtt`: pay → pay_ack round trips in ms, taken at the WebRTC data channel
  itself (RTCDataChannel.prototype.send for the `pay` leaving, the channel's `message` event
  for the `pay_ack` arriving, matched by amount), so they cover both data-channel hops and
  the broadcaster's whole handling of the payment (verify, persist, answer), and nothing of
  the viewer's own bookkeeping;
- `window.__bench.handled` (in the broadcaster's page): ms from a `pay` being dispatched to
  the page (its `message` event's timeStamp) to the `pay_ack` for that amount leaving, i.e. the
  broadcaster's own handling;
- `window.__bench.t`: performance.now() of the join phases: the click on "Fund from
  faucet", the funding-status and channel-state changes, the first `pay` sent, the video's
  `loadstart` (the media call's stream attached), `loadeddata` (first frame decoded) and the
  first requestVideoFrameCallback (first frame presented);
- `window.__bench.wasm`: every WebAssembly.Memory the page instantiated (Pyodide's, and any
  other module's), so the benchmarks can read their current sizes.

The broadcaster's side is read from its localStorage: the app persists each channel's
record (state, amount, t0, the offer's rate, end_reason) before it answers a `pay`, so
`paid_until = t0 + amount * 60 // rate` there is exactly the broadcaster's own view
(app/channel/broadcaster.py), and an `unpaid` close shows as end_reason "unpaid".
"""

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

from common import cdp_metrics, percentile  # noqa: F401  (sets sys.path; live.percentile for the scripts)

from playwright.sync_api import sync_playwright

from tests.browser.e2e_support import (FAST_TERMS, Apps, go_live, open_and_fund, regtest_address, share_link,  # noqa: F401
                                       wait_until, wait_watching)
from tests.conftest import CHROMIUM_ARGS, RequestLog, ServerProcess

PROBE = r"""
(() => {
  const B = window.__bench = {t: {}, rtt: [], pays: {}, acked: {}, handled: [], wasm: []};
  const mark = (name) => { if (!(name in B.t)) B.t[name] = performance.now(); };
  const text = (data) => {
    if (typeof data === "string") return data;
    try { return new TextDecoder().decode(data instanceof ArrayBuffer ? new Uint8Array(data)
                                          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)); }
    catch (e) { return ""; }
  };
  const parse = (data) => { try { return JSON.parse(text(data)); } catch (e) { return null; } };
  const watch = (channel) => {
    if (channel.__bench) return;
    channel.__bench = true;
    channel.addEventListener("message", (e) => {
      const m = parse(e.data);
      if (m && m.type === "pay_ack" && (m.amount in B.pays)) {
        B.rtt.push(performance.now() - B.pays[m.amount]);
        delete B.pays[m.amount];
        mark("first pay_ack");
      } else if (m && m.type === "pay" && (m.amount in B.acked)) {
        // PeerJS's own onmessage ran first (registered earlier) and the pay_ack already left:
        // the event's timeStamp is when this message was dispatched to the page.
        B.handled.push(B.acked[m.amount] - e.timeStamp);
        delete B.acked[m.amount];
      }
    });
  };
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    watch(this);  // the broadcaster's channels arrive by `datachannel`: watched from their first send
    const m = parse(data);
    if (m && m.type === "pay" && !(m.amount in B.pays)) { B.pays[m.amount] = performance.now(); mark("first pay sent"); }
    if (m && m.type === "pay_ack" && !(m.amount in B.acked)) B.acked[m.amount] = performance.now();
    return send.call(this, data);
  };
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    watch(channel);
    return channel;
  };
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[data-testid=faucet]")) mark("faucet click");
  }, true);
  document.addEventListener("loadstart", (e) => {
    const v = e.target;
    if (v.id !== "remote-video" || "stream attached" in B.t) return;
    mark("stream attached");
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(() => mark("first frame presented"));
  }, true);
  document.addEventListener("loadeddata", (e) => { if (e.target.id === "remote-video") mark("first frame decoded"); }, true);
  new MutationObserver(() => {
    const state = document.getElementById("w-state"), funding = document.getElementById("w-funding-status");
    // the channel's state itself is in data-state (the text is in words since the newcomer screens)
    if (state && state.getAttribute("data-state")) mark("state " + state.getAttribute("data-state"));
    if (funding && funding.textContent.startsWith("Payment received")) mark("funding seen");
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ["data-state"]});
  const keep = (result) => {
    const instance = result && (result.instance || result);
    for (const v of Object.values((instance && instance.exports) || {}))
      if (v instanceof WebAssembly.Memory && !B.wasm.includes(v)) B.wasm.push(v);
    return result;
  };
  const Memory = WebAssembly.Memory;
  WebAssembly.Memory = function (...args) { const m = new Memory(...args); B.wasm.push(m); return m; };
  WebAssembly.Memory.prototype = Memory.prototype;
  for (const name of ["instantiate", "instantiateStreaming"]) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) { return original.apply(this, args).then(keep); };
  }
})();
"""

# The broadcaster's channels as its own records have them (see the module docstring).
CHANNELS_JS = """() => {
  const out = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (!k.startsWith("streamium:bc:")) continue;
    const r = JSON.parse(localStorage.getItem(k));
    if (!r || !r.offer) continue;
    const rate = r.offer.rate_sat_per_min;
    out.push({key: k, state: r.state, amount: r.amount, t0: r.t0, end_reason: r.end_reason,
              paid_until: r.t0 === null ? r.opened_at : r.t0 + Math.floor(r.amount * 60 / rate)});
  }
  return {now: Date.now() / 1000, channels: out};
}"""

VIDEO_JS = """() => { const v = document.querySelector('[data-testid=remote-video]');
  const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {t: v ? v.currentTime : 0, w: v ? v.videoWidth : 0, h: v ? v.videoHeight : 0,
          frames: q ? q.totalVideoFrames : 0, dropped: q ? q.droppedVideoFrames : 0,
          state: ((e) => e ? e.getAttribute('data-state') || e.textContent : '')(document.getElementById('w-state'))}; }"""

MEMORY_JS = """() => ({wasm: window.__bench ? window.__bench.wasm.reduce((s, m) => s + m.buffer.byteLength, 0) : 0,
  wasm_sizes: window.__bench ? window.__bench.wasm.map(m => m.buffer.byteLength) : [],
  used: performance.memory ? performance.memory.usedJSHeapSize : 0,
  total: performance.memory ? performance.memory.totalJSHeapSize : 0})"""


class Live:
    """serve.py, a broadcaster browser and a viewers browser (separate Chromium processes).

    Two browsers so the broadcaster's CPU can be read per process from /proc: each is
    launched with a harmless unknown switch (--streamium-bench=ROLE) that names it.
    Every viewer is its own browser context (a page with its own Pyodide).
    """

    def __init__(self, tmp, server_args=(), executable_path="/usr/bin/chromium", init_script=None):
        """`server_args`: more of serve.py's flags; `executable_path`: the Chromium to launch (e.g. a
        wrapper that runs it in a network namespace); `init_script`: run in every page after PROBE."""
        self.tmp = Path(tmp)
        self.server_args, self.executable_path, self.init_script = tuple(server_args), executable_path, init_script
        self.server = None
        self.pw = None

    def __enter__(self):
        self.server = ServerProcess("--block-interval", "0", *self.server_args, data_dir=self.tmp / "devnet").start()
        self.pw = sync_playwright().start()
        self.browsers = {}
        for role in ("broadcaster", "viewers"):
            self.browsers[role] = self.pw.chromium.launch(
                executable_path=self.executable_path, args=CHROMIUM_ARGS + [f"--streamium-bench={role}"])
        log = RequestLog(self.server.url)
        self.broadcasters = Apps(self.browsers["broadcaster"], self.server, log)
        self.viewers = Apps(self.browsers["viewers"], self.server, log)
        return self

    def __exit__(self, *exc):
        for apps in (getattr(self, "viewers", None), getattr(self, "broadcasters", None)):
            if apps:
                apps.close()
        for browser in getattr(self, "browsers", {}).values():
            with contextlib.suppress(Exception):
                browser.close()
        if self.pw:
            self.pw.stop()
        if self.server:
            self.server.stop()

    def broadcast(self, name, rate=1200, terms=FAST_TERMS, relay_key=None):
        """A broadcaster page live under `name` with the fake camera; returns (page, share link).
        `relay_key`: the relay's key, so the video goes through serve.py's SFU (issue 15)."""
        page = self.page("broadcaster", "#/broadcast")
        if relay_key:
            page.fill("[data-testid=bc-relay-key]", relay_key)
        go_live(page, name, regtest_address(), rate=rate, terms=terms)
        return page, share_link(page)

    def viewer(self):
        """A booted viewer page (own context); not yet following the link."""
        return self.page("viewers", "#/")

    def page(self, role, fragment):
        """A booted app page in a new context of `role`'s browser, with PROBE installed."""
        apps = self.broadcasters if role == "broadcaster" else self.viewers
        context = self.browsers[role].new_context(viewport={"width": 1100, "height": 900})
        context.add_init_script(PROBE)
        if self.init_script:
            context.add_init_script(self.init_script)
        apps.contexts.append(context)
        page = context.new_page()
        page.goto(self.server.url + "/" + fragment)
        page.wait_for_selector("body[data-app-ready=true]", timeout=120_000)
        return page


def bench_times(page) -> dict:
    return page.evaluate("window.__bench.t")


def rtts(page) -> list:
    return page.evaluate("window.__bench.rtt.slice()")


def memory(page, cdp) -> dict:
    """JS heap (CDP Performance.getMetrics and performance.memory) and wasm memory, in bytes."""
    metrics = cdp_metrics(cdp)
    out = page.evaluate(MEMORY_JS)
    out.update(heap_used=metrics["JSHeapUsedSize"], heap_total=metrics["JSHeapTotalSize"])
    return out


# ---- CPU from /proc -----------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(path):
    """(comm, fields after comm) of a /proc stat file, or None if gone."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    head, _, rest = text.rpartition(")")
    return head.split("(", 1)[1], rest.split()


def browser_pid(role):
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
                if f"--streamium-bench={role}".encode() in cmd and not any(a.startswith(b"--type=") for a in cmd):
                    return int(entry.name)
    raise RuntimeError(f"no Chromium process for {role}")


def process_tree(root):
    """{pid: kind} for `root` and its descendants; kind is Chromium's --type= (browser for the root)."""
    parents, kinds = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        st = _stat(entry / "stat")
        if st is None:
            continue
        pid = int(entry.name)
        parents[pid] = int(st[1][1])
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()  # children rewrite argv as one string
            kind = next((a[7:].decode() for a in cmd if a.startswith(b"--type=")), "browser")
            sub = next((a.split(b"=", 1)[1].decode().rsplit(".", 1)[-1] for a in cmd
                        if a.startswith(b"--utility-sub-type=")), None)
            kinds[pid] = f"{kind} ({sub})" if sub else kind
    tree, frontier = {root: kinds.get(root, "browser")}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, pp in parents.items():
            if pp == parent and pid not in tree:
                tree[pid] = kinds.get(pid, "?")
                frontier.append(pid)
    return tree


def renderer_memory(role):
    """Private resident memory (RssAnon, bytes) of each renderer process of `role`'s browser, largest first."""
    out = []
    for pid, kind in process_tree(browser_pid(role)).items():
        if kind == "renderer":
            with contextlib.suppress(OSError, StopIteration):
                line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("RssAnon:"))
                out.append(int(line.split()[1]) * 1024)
    return sorted(out, reverse=True)


def cpu_seconds(pid):
    st = _stat(f"/proc/{pid}/stat")
    return 0.0 if st is None else (int(st[1][11]) + int(st[1][12])) / TICK


def thread_seconds(pid):
    """{thread name: CPU s} over the threads of `pid` (names with trailing digits merged)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        st = _stat(task / "stat")
        if st is None:
            continue
        name = "main thread" if task.name == str(pid) else (re.sub(r"[\d/:]+$", "", st[0]).strip() or st[0])
        out[name] = out.get(name, 0.0) + (int(st[1][11]) + int(st[1][12])) / TICK
    return out


class CpuSample:
    """CPU seconds of one browser's processes (by kind), its renderers' threads, and the whole machine."""

    def __init__(self, role):
        self.at = time.monotonic()
        self.tree = process_tree(browser_pid(role))
        self.by_pid = {pid: cpu_seconds(pid) for pid in self.tree}
        self.threads = {pid: thread_seconds(pid) for pid, kind in self.tree.items() if kind == "renderer"}
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        values = [int(x) for x in fields]
        self.machine_busy = (sum(values) - values[3] - values[4]) / TICK
        self.machine_total = sum(values) / TICK

    def total(self):
        return sum(self.by_pid.values())

    def renderers(self):
        return sum(s for pid, s in self.by_pid.items() if self.tree[pid] == "renderer")


def cpu_delta(before: CpuSample, after: CpuSample) -> dict:
    """CPU over the interval: whole browser, renderers, by process kind and by renderer thread."""
    wall = after.at - before.at
    kinds = {}
    for pid, s in after.by_pid.items():
        kinds[after.tree[pid]] = kinds.get(after.tree[pid], 0.0) + s - before.by_pid.get(pid, 0.0)
    threads = {}
    for pid, names in after.threads.items():
        for name, s in names.items():
            threads[name] = threads.get(name, 0.0) + s - before.threads.get(pid, {}).get(name, 0.0)
    return {"wall": wall, "browser": after.total() - before.total(),
            "renderer": after.renderers() - before.renderers(),
            "kinds": kinds, "threads": threads,
            "machine": (after.machine_busy - before.machine_busy) / max(1e-9, after.machine_total - before.machine_total)}


@contextlib.contextmanager
def live(**options):
    """A Live world in a temporary folder (`options`: Live's)."""
    with tempfile.TemporaryDirectory() as tmp, Live(tmp, **options) as world:
        yield world
