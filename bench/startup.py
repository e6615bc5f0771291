#!/usr/bin/env python3
"""Cold and warm start: navigation to <body data-app-ready="true">, in headless Chromium.

The clock runs from page.goto to the moment the attribute turns true, seen by a
MutationObserver in the page (not by polling).

Cold: a fresh browser context (empty cache) each run. Warm: the same context,
second visit. Playwright's contexts are incognito (in-memory HTTP cache that does not
keep the 9 MiB pyodide.asm.wasm, no V8 wasm code cache), so "warm start, on-disk
profile" also times the second visit in a persistent profile, as a returning user has. Prints min/median/max over --runs. With --profile, one more cold
and warm load is taken apart: resource timings (performance.getEntriesByType),
PyScript's `py:ready` and `py:done` events, the moment data-app-ready turns true,
and Chromium's own counters (CDP Performance.getMetrics).

Then each link of LINKS (DevTools' Network.emulateNetworkConditions through a CDP session):
a first visit in a fresh context (seconds to app-ready, bytes the network carried), then, once
sw.js holds its offline copy, a return visit with the network off; beside it, the same first
visit as a browser without brotli, and one without the snapshot (Pyodide booted from scratch).

    .venv/bin/python bench/startup.py [--runs 5] [--tiny] [--profile] [--json FILE]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import sync_playwright  # noqa: E402

from common import cdp_metrics, emit, row  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, ServerProcess  # noqa: E402

TARGETS = {"cold start": 2.0, "warm start": 1.0, "warm start, on-disk profile": 1.0}

# Timestamps (performance.now(), ms since navigation start) of the start-up phases.
PHASES_SCRIPT = """
window.__bench = {};
for (const name of ["py:ready", "py:done"]) {
  addEventListener(name, () => { if (!(name in window.__bench)) window.__bench[name] = performance.now(); });
}
addEventListener("DOMContentLoaded", () => { window.__bench["DOMContentLoaded"] = performance.now(); });
new MutationObserver(() => {
  if (document.body && document.body.dataset.appReady === "true" && !("app-ready" in window.__bench))
    window.__bench["app-ready"] = performance.now();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-app-ready"]});
"""

RESOURCES_JS = """() => performance.getEntriesByType("resource").map(e => ({
  name: e.name.replace(location.origin, ""), type: e.initiatorType, start: e.startTime,
  end: e.responseEnd, transfer: e.transferSize, body: e.decodedBodySize}))"""


# Resolves the moment data-app-ready turns true (a MutationObserver), so the clock stops
# then: Playwright's wait_for_selector polls with backoff (20, 50, 100, 100, then every
# 500 ms), which added 0-500 ms to each figure before 2026-11-21.
READY_JS = """() => new Promise((resolve, reject) => {
  const ready = () => document.body && document.body.dataset.appReady === "true";
  if (ready()) return resolve();
  new MutationObserver((_, observer) => { if (ready()) { observer.disconnect(); resolve(); } })
    .observe(document.documentElement, {subtree: true, attributes: true, attributeFilter: ["data-app-ready"]});
  setTimeout(() => reject(new Error("data-app-ready not set within 120 s")), 120000);
})"""


def time_to_ready(page, url):
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.evaluate(READY_JS)
    return time.perf_counter() - start


def measure(url, runs):
    cold, warm, disk, blocked = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            cold.append(time_to_ready(page, url))
            wait_for_copy(page)  # a returning visitor comes back later, not while sw.js copies
            page = context.new_page()
            warm.append(time_to_ready(page, url))
            context.close()
            context = browser.new_context(service_workers="block")  # the same, as before sw.js
            time_to_ready(context.new_page(), url)
            blocked.append(time_to_ready(context.new_page(), url))
            context.close()
        browser.close()
        for _ in range(runs):
            # Playwright's contexts are incognito (in-memory HTTP cache, no wasm code cache):
            # a persistent profile shows what a returning user's browser keeps.
            with tempfile.TemporaryDirectory() as profile_dir:
                context = p.chromium.launch_persistent_context(
                    profile_dir, executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                first = context.new_page()
                time_to_ready(first, url)
                wait_for_copy(first)
                disk.append(time_to_ready(context.new_page(), url))
                context.close()
    return {"cold start": cold, "warm start": warm, "warm start, on-disk profile": disk,
            "warm start, service workers blocked (as before sw.js)": blocked}


# (name, download Mbit/s, round trip ms) as DevTools' Network.emulateNetworkConditions applies
# them to the page's requests (throughput in bytes/s; latency added per request). None: loopback.
LINKS = (("loopback", None, 0), ("50 Mbit/s, 20 ms", 50, 20), ("20 Mbit/s, 40 ms", 20, 40),
         ("10 Mbit/s, 60 ms", 10, 60))
LINK_TARGETS = {"first visit, 20 Mbit/s, 40 ms": ("≤ 3.0 s median", 3.0), "loopback first visit": ("≤ 1.3 s median", 1.3),
                "bytes, first visit": ("≤ 6 MiB", 6.0), "return visit, offline": ("≤ 0.8 s median", 0.8)}
COPIED_JS = """async () => { const meta = await caches.open('streamium-meta');
    return !!(await meta.match('current')); }"""


def wait_for_copy(page, timeout=120):
    """Until sw.js holds the whole offline copy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(COPIED_JS):
        if time.monotonic() > deadline:
            raise RuntimeError(f"sw.js made no offline copy within {timeout} s")
        time.sleep(0.2)


def emulate_link(cdp, mbit, rtt_ms):
    """The page's requests throttled to `mbit` down and up, `rtt_ms` added to each."""
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": rtt_ms, "downloadThroughput": mbit * 1e6 / 8,
        "uploadThroughput": mbit * 1e6 / 8})


def first_visit(context, url, mbit, rtt_ms, gzip_only=False, no_snapshot=False):
    """Seconds to app-ready and bytes the network carried, on an emulated link (`gzip_only`: as
    a browser that does not take brotli, i.e. the page before it had .br files; `no_snapshot`:
    the snapshot's requests fail, so assets/js/pyodide.mjs boots Pyodide from scratch)."""
    if no_snapshot:
        context.route("**/pyodide.snapshot.*", lambda route: route.abort())
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if gzip_only:
        cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "gzip, deflate"}})
    carried = []
    cdp.on("Network.loadingFinished", lambda event: carried.append(event["encodedDataLength"]))
    if mbit:
        emulate_link(cdp, mbit, rtt_ms)
    seconds = time_to_ready(page, url)
    started = page.evaluate("globalThis.streamiumPyodideStart")
    if started != ("scratch" if no_snapshot else "snapshot"):
        raise RuntimeError(f"Pyodide started from {started}, not as this visit was meant to")
    return page, seconds, sum(carried)


def measure_links(url, runs, links=LINKS):
    """Each link: a first visit (fresh context), then, once sw.js has its copy, a return visit
    with the network switched off."""
    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, mbit, rtt in links:
            first, moved, offline, gzipped, gzip_moved, scratch, scratch_moved = [], [], [], [], [], [], []
            for _ in range(runs):
                context = browser.new_context(service_workers="block")  # the snapshot against none
                _, seconds, carried = first_visit(context, url, mbit, rtt, no_snapshot=True)
                scratch.append(seconds)
                scratch_moved.append(carried / 2**20)
                context.close()
                context = browser.new_context()  # gzip only, for the comparison: no copy kept
                _, seconds, carried = first_visit(context, url, mbit, rtt, gzip_only=True)
                gzipped.append(seconds)
                gzip_moved.append(carried / 2**20)
                context.close()
                context = browser.new_context()
                page, seconds, carried = first_visit(context, url, mbit, rtt)
                first.append(seconds)
                moved.append(carried / 2**20)
                wait_for_copy(page)
                context.set_offline(True)
                offline.append(time_to_ready(context.new_page(), url))
                context.close()
            found[name] = {"first": first, "mib": moved, "offline": offline, "gzip": gzipped, "gzip_mib": gzip_moved,
                           "scratch": scratch, "scratch_mib": scratch_moved}
        browser.close()
    return found


def link_rows(found):
    rows = []
    for name, m in found.items():
        first_name = "loopback first visit" if name == "loopback" else f"first visit, {name}"
        target = LINK_TARGETS.get(first_name)
        rows.append(row(first_name, m["first"], "s", target=target[0] if target else "–",
                        met=statistics.median(m["first"]) <= target[1] if target else None))
        rows.append(row(f"{first_name}, gzip only (as before brotli)", m["gzip"], "s"))
        rows.append(row(f"{first_name}, no snapshot (Pyodide booted from scratch)", m["scratch"], "s"))
        if name == "loopback":
            mib_target, mib_limit = LINK_TARGETS["bytes, first visit"]
            rows.append(row("bytes, first visit", m["mib"], "MiB", target=mib_target,
                            met=statistics.median(m["mib"]) <= mib_limit))
            rows.append(row("bytes, first visit, gzip only (as before brotli)", m["gzip_mib"], "MiB"))
            rows.append(row("bytes, first visit, no snapshot", m["scratch_mib"], "MiB"))
            off_target, off_limit = LINK_TARGETS["return visit, offline"]
            rows.append(row("return visit, offline", m["offline"], "s", target=off_target,
                            met=statistics.median(m["offline"]) <= off_limit))
    return rows


def profile_load(context, url, link=None):
    """One load taken apart; `link`: (Mbit/s, round trip ms) to emulate, as in first_visit."""
    page = context.new_page()
    page.add_init_script(PHASES_SCRIPT)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    if link:
        emulate_link(cdp, *link)
    total = time_to_ready(page, url)
    metrics = cdp_metrics(cdp)
    phases = page.evaluate("window.__bench")
    # assets/js/pyodide.mjs marks when PyScript asks for Pyodide and when it has it
    phases.update(page.evaluate("Object.fromEntries(performance.getEntriesByType('mark')"
                                ".filter(m => m.name.startsWith('streamium:')).map(m => [m.name, m.startTime]))"))
    phases["pyodide start"] = page.evaluate("globalThis.streamiumPyodideStart || 'unknown'")
    resources = page.evaluate(RESOURCES_JS)
    headers = {}
    wasm = page.evaluate("new URL(performance.getEntriesByType('resource').map((e) => e.name)"
                         ".find((n) => n.endsWith('/pyodide.asm.wasm'))).pathname")  # in the runtime folder
    for path in (wasm, "/assets/build/app.zip"):
        headers[path] = page.evaluate(
            "(p) => fetch(p, {method: 'HEAD'}).then((r) => r.headers.get('cache-control'), () => 'offline')", path)
    page.close()
    return {"total_s": total, "phases_ms": phases, "resources": resources, "cache_control": headers,
            "metrics": {k: metrics.get(k) for k in ("ScriptDuration", "TaskDuration", "LayoutDuration",
                                                     "RecalcStyleDuration", "JSHeapUsedSize")}}


def profile(url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        cold = profile_load(context, url)
        warm = profile_load(context, url)
        page = context.new_page()
        time_to_ready(page, url)
        wait_for_copy(page)
        page.close()
        context.set_offline(True)
        offline = profile_load(context, url)
        context.close()
        slow = profile_load(browser.new_context(service_workers="block"), url, link=(20, 40))
        browser.close()
    return {"cold": cold, "warm": warm, "return visit, offline": offline, "cold, 20 Mbit/s, 40 ms": slow}


def describe(prof) -> str:
    """A markdown breakdown of one profiled cold and warm load."""
    out = []
    for which in prof:
        p = prof[which]
        ph = p["phases_ms"]
        m = p["metrics"]
        out.append(f"**{which} load** ({p['total_s']:.2f} s to app-ready; main-thread script "
                   f"{m['ScriptDuration']:.2f} s, all tasks {m['TaskDuration']:.2f} s, "
                   f"JS heap {m['JSHeapUsedSize'] / 2**20:.0f} MiB)\n")
        out.append("| phase (ms since navigation start) | at |\n|---|---|")
        for name in ("DOMContentLoaded", "streamium:pyodide-start", "streamium:pyodide-ready",
                     "py:ready", "py:done", "app-ready"):
            if name in ph:
                out.append(f"| {name} | {ph[name]:.0f} |")
        out.append(f"\nPyodide started from: {ph.get('pyodide start')}.\n")
        out.append("")
        res = sorted(p["resources"], key=lambda r: -(r["end"] - r["start"]))
        big = [r for r in res if r["body"] > 20_000 or r["end"] - r["start"] > 100][:14]
        out.append("| resource | start ms | end ms | transferred KiB | size KiB |\n|---|---|---|---|---|")
        for r in big:
            out.append(f"| `{r['name'][:70]}` | {r['start']:.0f} | {r['end']:.0f} | "
                       f"{r['transfer'] / 1024:.0f} | {r['body'] / 1024:.0f} |")
        n = len(p["resources"])
        kib = sum(r["transfer"] for r in p["resources"]) / 1024
        last = max((r["end"] for r in p["resources"]), default=0)
        out.append(f"\n{n} requests, {kib:.0f} KiB transferred, last response at {last:.0f} ms.\n")
    out.append("Cache-Control: " + ", ".join(f"`{k}`: `{v}`" for k, v in prof["cold"]["cache_control"].items()))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="one cold and one warm load (smoke test)")
    parser.add_argument("--profile", action="store_true", help="also take one cold and warm load apart")
    parser.add_argument("--json", type=Path, help="also write rows, notes and the profile to this JSON file")
    args = parser.parse_args()
    runs = 1 if args.tiny else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess("--block-interval", "0", data_dir=Path(tmp) / "devnet").start()
        try:
            results = measure(server.url + "/", runs)
            links = measure_links(server.url + "/", runs, LINKS[:1] if args.tiny else LINKS)
            prof = profile(server.url + "/") if args.profile else None
        finally:
            server.stop()
    rows = [row(name, values, "s", target=f"≤ {TARGETS[name]:.1f} s median" if name in TARGETS else "",
                met=statistics.median(values) <= TARGETS[name] if name in TARGETS else None)
            for name, values in results.items()] + link_rows(links)
    emit(args, rows, describe(prof) if prof else "", extra={"profile": prof} if prof else None)


if __name__ == "__main__":
    main()
