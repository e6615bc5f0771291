"""docs/benchmarks.md from the rows the bench/ scripts wrote (used by bench/run_all.py)."""

from common import table

STARTUP_ANALYSIS = """\
### Where the start-up time goes

Measured with `bench/startup.py --profile` (one cold and one warm load; the tables below are from
this run): resource timings from `performance.getEntriesByType("resource")`, PyScript's `py:ready`
/ `py:done` events and the moment `data-app-ready` turns true (an init script records
`performance.now()` for each), and Chromium's counters (CDP `Performance.getMetrics`). A separate
probe (a blank page of the same origin, fresh context, twice) timed the runtime alone:
`fetch` of `pyodide.asm.wasm` ≈ 115 ms, `WebAssembly.compile` of it ≈ 40–55 ms, bare
`loadPyodide({indexURL})` ≈ 3.1–3.2 s.

{profile}

What this says, on this 2-core machine over loopback:

1. **The network is not the problem here.** All 13.4 MiB (9.2 MiB `pyodide.asm.wasm`, 2.4 MiB
   `python_stdlib.zip`, 1.2 MiB `pyodide.asm.mjs`) are in by ≈ 0.7 s. They are served
   uncompressed (transferred = size); on a real link that is the first cost (13 MiB at
   20 Mbit/s ≈ 5.5 s).
2. **Booting the Python runtime is ≈ 75–85 % of the start.** From the last download (≈ 0.7 s) to
   `py:ready` (≈ 5.3–6.5 s in the loads profiled so far) nothing is fetched. Compiling the wasm is only ≈ 50 ms (V8 Liftoff, lazy),
   so it is Pyodide's own start (instantiate, unpack the stdlib, initialise CPython, import its
   internals): ≈ 3.1 s bare, ≈ 4.6 s under PyScript, which adds its Python-side bootstrap and
   fetches and unpacks the `[files]` zips (embit, segno, app) only *after* the interpreter is up.
3. **The app itself is ≈ 0.4 s** (`py:ready` → app-ready): importing `app`, embit and segno from
   the zips, then `start()`; `/config.json` is requested only at the very end of that.
4. **The PyScript plugin chunks are not the problem:** `py-editor`, `py-game`, `py-terminal`,
   `donkey`, `deprecations-manager` are ≈ 13 KiB, fetched in parallel at ≈ 250 ms and done in
   ≈ 10 ms; codemirror is never fetched.
5. **"Warm" in a Playwright context is not warm:** the context is incognito, its in-memory HTTP
   cache does not keep the 9.2 MiB wasm (re-transferred on the second visit) and there is no V8
   wasm code cache, and Python boots again anyway, so warm ≈ cold. A persistent (on-disk)
   profile, as a returning user has, is the "warm start, on-disk profile" row: faster, still far
   from 1 s, because the runtime boot is paid on every visit.

Suggestions, biggest first (none applied: the app is not this benchmark's to change):

- **Snapshot the booted interpreter.** Pyodide can start from a memory snapshot (experimental
  snapshot options of `loadPyodide`; check what 314 exposes) taken after the app's imports; that
  skips most of the ≈ 3–4.6 s. This is the only change that can reach the 2 s / 1 s targets.
- **Drop the PyScript layer** for this page: call `loadPyodide` from `boot.js` and run
  `app/main.py` directly (≈ 1.5 s between bare `loadPyodide` and `py:ready` here), keeping the
  `pyscript` module only if the UI needs it.
- **Fetch in parallel with the boot:** start fetching `app.zip`, `embit.zip`, `segno.zip` and
  `/config.json` at page load (e.g. `<link rel="preload">` or `fetch` in `boot.js`) and unpack
  from those responses; today they start just before `py:ready`.
- **Precompiled bytecode** in `app.zip`/`embit.zip` (`.pyc` for CPython 3.14 as Pyodide does for
  its own packages) to cut part of the ≈ 0.4 s import phase; a **trimmed stdlib zip** (2.4 MiB)
  cuts unpacking.
- **Compress** `pyodide.asm.wasm`, `python_stdlib.zip`, `pyodide.asm.mjs` (precompressed
  `.br`/`.gz`, `Content-Encoding`): matters on real links, not on loopback; keep
  `Cache-Control: public, max-age=86400` (already set for `/assets/vendor/`) so returning users
  skip the download and V8 caches the compiled wasm.
"""

PAYMENT_ANALYSIS = """\
### Where the payment-check time goes

Profiled with `bench/payments.py --profile`: cProfile inside the page's Pyodide (200 checks) and
pyinstrument in CPython with embit's pure-Python secp256k1 (the same code path). Both agree:

| part of one `pay` check | share (Pyodide, cProfile) |
|---|---|
| ECDSA verify, `embit/util/key.py` `mul` (≈ 256 Jacobian doublings + ≈ 255 mixed additions: u1·G + u2·K1 with Shamir's trick, 1-bit windows) | ≈ 85 % |
| parsing K1 again for every `pay` (`PublicKey.parse` → `lift_x` → modular square root) | ≈ 7 % |
| BIP143 sighash of T3 (`sighash_segwit`) | ≈ 2.5 % |
| JSON parse and validation, building T3, record, `json.dumps` | ≈ 3 % |

So the check is the elliptic-curve multiplication and nothing else; Pyodide runs that pure-Python
big-integer arithmetic at about half the speed of CPython 3.11 on the same machine (see the
"browser / CPython pure-Python" row), and libsecp256k1 in CPython is ≈ 20–25× faster than pure
Python there and ≈ 45× faster than the page. Suggestions, by expected gain:

- **Native verify in the page:** `cryptography` is in Pyodide 314's package lock and verifies
  ECDSA on SECP256K1 through OpenSSL (the strict DER/low-S checks stay in
  `app/channel/signatures.py`), or libsecp256k1 compiled to wasm; either should pass 500/s many
  times over, at the price of a larger download at start-up (weigh against the start-up figures).
- **A faster pure-Python verify:** width-4+ wNAF for K1, a precomputed table of G multiples (built
  once per page), and the secp256k1 GLV endomorphism (halves the doublings): together plausibly
  2–3×, which is about what the 500/s target needs.
- **Cache K1's parsed point** in `Channel` (it never changes): ≈ 7 % at once.
- For scale: one viewer sends one `pay` every `pay_interval_s` (5 s by default), so even the
  current rate is a CPU budget of several hundred viewers per broadcaster page, before video.
"""


LIVE = ("The real app (`index.html` on `serve.py --block-interval 0`, a fresh devnet), PeerJS over the "
        "built-in signalling, Chromium's fake camera, channels funded from the devnet faucet, driven the way "
        "`tests/browser/test_e2e_channels.py` drives it (`bench/live.py`). Each viewer is its own browser "
        "context. Nothing in `app/` is instrumented: an init script in the pages (`bench/live.py` `PROBE`) "
        "reads the data channel, the `<video>` and the WebAssembly memories from the outside, and the "
        "broadcaster's view of each channel is read from the record it persists before each `pay_ack`. ")

SAME = "Same set-up as *Join to first frame*. "

LIVE_SECTIONS = [
    ("join.py", "Join to first frame",
     LIVE + "Timed in the viewer page from its click on \"Fund from faucet\" to the first frame of the "
     "remote `<video>` (the first `requestVideoFrameCallback`; `loadeddata` beside it), a new viewer context "
     "per run; the phases in between come from the same page."),
    ("roundtrip.py", "Payment round trip",
     SAME + "`pay` leaving the viewer's `RTCDataChannel` → the `pay_ack` for that amount arriving on it: both "
     "data-channel hops and the broadcaster's whole handling (parse, T3, sighash, verify in Pyodide, "
     "persist, answer). `pay_interval_s` 1 (the protocol's minimum) so a channel pays about once a second; "
     "the 200 payments are taken over several channels, one viewer at a time."),
    ("viewers.py", "Viewers per broadcaster",
     SAME + "N paying viewers (2, 4, 6, 8; added to those already watching) on one broadcaster with the "
     "protocol's default terms (pay every 5 s, 15 s prepaid, 10 s grace), 60 s watched at each N. N passes "
     "when no channel's `paid_until` (the broadcaster's own, from its record) ever falls behind its clock, no "
     "channel closes (`unpaid` or otherwise) and every viewer's video advances (currentTime ≥ 80 % of wall "
     "time, frames decoded). The broadcaster runs in its own Chromium so its CPU is read from `/proc` "
     "(user + system time of its renderer, and of all its processes), in % of one core per viewer."),
    ("memory.py", "Memory",
     SAME + "A broadcaster tab serving 4 paying viewers and the 4 viewer tabs, sampled every 10 s while "
     "they watch: the page's JS heap (CDP `Performance.getMetrics` `JSHeapUsedSize`) plus the byteLength "
     "of every `WebAssembly.Memory` the page made (Pyodide's linear memory and any other module's; the "
     "ArrayBuffer lives outside the V8 heap). The viewer row is the largest viewer tab at each sample."),
]


def render_page(results, machine, versions, runs, tiny, date) -> str:
    rows = [r for res in results.values() for r in res["rows"]]
    targeted = [r for r in rows if r["met"] is not None]
    out = ["# Benchmarks", "",
           f"Written by `bench/run_all.py` on {date}{' (**--tiny smoke run, not figures**)' if tiny else ''}. "
           "Regenerate with `.venv/bin/python bench/run_all.py` (about 20 minutes); each script also runs "
           "alone, e.g. `.venv/bin/python bench/payments.py --runs 5`, and prints its table. "
           "Nothing here is a test: `tests/bench/` only checks that every script still runs (`--tiny`).", "",
           "## Machine and versions", "", "| | |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in {**machine, **versions}.items()]
    out += ["", "## Targets", "", table(targeted), "",
            f"min / median / max over {runs} runs unless a row says otherwise. Targets are for this "
            "2-core machine.", ""]
    sections = [
        ("startup.py", "Cold and warm start",
         "Headless Chromium against `serve.py` (loopback), from `page.goto` to "
         "`<body data-app-ready=\"true\">`. Cold: a new browser context per run (empty cache). Warm: a "
         "second page in the same context. On-disk profile: the second visit in a persistent profile "
         "(`launch_persistent_context`), i.e. with a disk HTTP cache and V8's wasm code cache."),
        ("payments.py", "Payment checks per second",
         "One check is the broadcaster's whole handling of a valid `pay`: `Broadcaster.receive(text, now)` "
         "on an open channel (built with `tests/channel/full_channel.py`: parse and validate, build "
         "T3(amount), BIP143 sighash, strict DER/low-S, ECDSA verify under K1, new state and record), then "
         "`json.dumps` of the record the glue persists before `pay_ack`. Messages are signed beforehand "
         "with increasing amounts (20 per simulated second, the protocol's rate limit). In the browser the "
         "same code runs in the real page's Pyodide through `tests/browser/pyodide.py`; the pure-Python "
         "CPython run hides `embit.util.ctypes_secp256k1` so embit falls back to `py_secp256k1`, as in "
         "the browser."),
        ("onchain.py", "On-chain cost of a channel",
         "vbytes (weight / 4, rounded up) of the real signed transactions. A channel costs T1 + the closing "
         "T3; T2 only if the broadcaster vanishes. The 2015 design: the same channel without SegWit, "
         "P2PKH coin → P2SH 2-of-2 → P2PKH outputs, signed by embit. Every transaction of both designs "
         "is checked with `KernelChain.verify_tx_scripts` (Bitcoin Core's interpreter, all consensus "
         "flags). embit's native signer grinds low-R (71-byte signatures) for the 2015 transactions, "
         "which 2015 wallets did not, so the 2015 sizes are if anything 1–2 vB low and the ratio "
         "slightly pessimistic for Streamium."),
        ("devnet.py", "Devnet",
         "The devnet mounted at `/api` in an aiohttp server on loopback (in the benchmark's process), "
         "driven over HTTP. Each timed transaction spends one 50,000-sat P2WPKH coin from a fan-out made "
         "beforehand."),
        *LIVE_SECTIONS,
    ]
    for script, title, how in sections:
        if script not in results:  # a partial run (e.g. a test's fake rows)
            continue
        res = results[script]
        out += [f"## {title}", "", how, "", table(res["rows"]), ""]
        if script == "startup.py":
            out += [STARTUP_ANALYSIS.replace("{profile}", res["notes"] or "(run with --profile)"), ""]
        elif res["notes"]:
            out += [res["notes"], ""]
        if script == "payments.py":
            out += [PAYMENT_ANALYSIS, ""]
    return "\n".join(out) + "\n"
