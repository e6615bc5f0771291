#!/usr/bin/env python3
"""Memory: a viewer tab, and the broadcaster tab serving 4 viewers: JS heap plus WebAssembly memory.

The real app on serve.py (`--block-interval 0`), one broadcaster page (fake camera, the
protocol's default terms) and 4 viewers, each in its own browser context with its own
channel funded from the devnet faucet. Once all 4 watch, after --settle seconds, --runs
samples are taken every --every seconds, of every tab:

- JS heap: CDP Performance.getMetrics JSHeapUsedSize (the page's V8 heap, precise; the
  page's performance.memory.usedJSHeapSize is kept in the JSON, it is bucketed without
  --enable-precise-memory-info);
- WebAssembly memory: the byteLength of every WebAssembly.Memory the page made (Pyodide's
  linear memory, and any other module's), found by bench/live.py's PROBE, which wraps the
  WebAssembly.Memory constructor and WebAssembly.instantiate(Streaming); checked once against
  Pyodide's own view (`pyodide_js._module.HEAPU8.length`, run in the page through
  tests/browser/pyodide.py).

The wasm memory's ArrayBuffer lives outside the V8 heap, so the two add up. The viewer row
takes, at each sample, the largest of the 4 viewer tabs. The page's other memory (DOM,
media buffers, decoders, the compiled wasm code) is not in either figure.

    .venv/bin/python bench/memory.py [--runs 5] [--every 10] [--settle 10] [--tiny] [--json FILE]
"""

import time

from common import emit, parser, row

import live
from tests.browser.pyodide import run_python

TARGET_MB = 150
MB = 1e6
VIEWERS = 4


def sample(pages, cdps):
    out = [live.renderer_memory("broadcaster"), live.renderer_memory("viewers")]
    for page, cdp in zip(pages, cdps):
        m = live.memory(page, cdp)
        m["sum"] = m["heap_used"] + m["wasm"]
        out.append(m)
    return out


def main():
    p = parser(__doc__)
    p.add_argument("--every", type=float, default=10, help="seconds between samples (default 10)")
    p.add_argument("--settle", type=float, default=10, help="seconds of watching before the first sample")
    args = p.parse_args()
    runs, every, settle, count = (2, 2, 2, 2) if args.tiny else (args.runs, args.every, args.settle, VIEWERS)
    samples = []
    with live.live() as world:
        broadcaster, link = world.broadcast("Memory bench", rate=1200, terms={})
        viewers = []
        for _ in range(count):
            v = world.viewer()
            live.open_and_fund(v, link, minutes=30)
            viewers.append(v)
        for v in viewers:
            live.wait_watching(v, timeout=90_000, past=1)
        pages = [broadcaster] + viewers
        cdps = [page.context.new_cdp_session(page) for page in pages]
        for cdp in cdps:
            cdp.send("Performance.enable")
        pyodide_heap = run_python(viewers[0], "import pyodide_js\nresult = pyodide_js._module.HEAPU8.length")
        time.sleep(settle)
        for i in range(runs):
            if i:
                time.sleep(every)
            samples.append(sample(pages, cdps))
        watching = sum(1 for v in viewers if v.evaluate(live.VIDEO_JS)["state"] == "open")
    processes = [s[:2] for s in samples]
    samples = [s[2:] for s in samples]
    bc = [s[0] for s in samples]
    worst = [max(s[1:], key=lambda m: m["sum"]) for s in samples]
    viewer_sums = [m["sum"] / MB for m in worst]
    rows = [row("viewer tab: JS heap + wasm memory (largest of the viewer tabs)", viewer_sums, "MB",
                target=f"≤ {TARGET_MB} MB per viewer tab", met=max(viewer_sums) <= TARGET_MB, fmt="{:.0f}"),
            row("… of which JS heap (CDP JSHeapUsedSize)", [m["heap_used"] / MB for m in worst], "MB", fmt="{:.1f}"),
            row("… of which wasm memory", [m["wasm"] / MB for m in worst], "MB", fmt="{:.0f}"),
            row(f"broadcaster tab with {count} viewers: JS heap + wasm memory", [m["sum"] / MB for m in bc], "MB",
                fmt="{:.0f}"),
            row("… of which JS heap (CDP JSHeapUsedSize)", [m["heap_used"] / MB for m in bc], "MB", fmt="{:.1f}"),
            row("… of which wasm memory", [m["wasm"] / MB for m in bc], "MB", fmt="{:.0f}"),
            row("for scale: a viewer renderer process, private resident memory (largest)",
                [p[1][0] / MB for p in processes], "MB", fmt="{:.0f}"),
            row("for scale: the broadcaster's renderer process, private resident memory",
                [p[0][0] / MB for p in processes], "MB", fmt="{:.0f}")]
    wasm_found = worst[0]["wasm"]
    notes = (f"{len(samples)} samples, {every:.0f} s apart, after {settle:.0f} s of watching, of 1 broadcaster tab "
             f"and {count} viewer tabs ({watching} still `open` at the end). MB = 10⁶ bytes. Wasm memories found "
             f"in a viewer tab: {len(worst[0]['wasm_sizes'])} "
             f"({', '.join(f'{b / MB:.1f}' for b in worst[0]['wasm_sizes'])} MB); Pyodide's own HEAPU8 in the first viewer tab: "
             f"{pyodide_heap / MB:.0f} MB (the probe's sum there: {wasm_found / MB:.0f} MB).")
    notes += (" The \"for scale\" rows are the renderer processes' RssAnon from /proc (all of the tab: DOM, "
              "media buffers and codecs, compiled wasm code, allocator slack); each viewer context has its own "
              "renderer, the broadcaster runs in its own Chromium.")
    emit(args, rows, notes, extra={"samples": samples, "processes": processes, "pyodide_heapu8": pyodide_heap})


if __name__ == "__main__":
    main()
