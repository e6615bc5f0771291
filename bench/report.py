"""docs/benchmarks.md from the rows the bench/ scripts wrote (used by bench/run_all.py)."""

from common import table

STARTUP_ANALYSIS = """\
**How steady these are:** three 5-run sets of the committed code, minutes apart on this shared
2-core machine, gave medians of 1.23, 1.46 and 1.26 s cold, 0.94, 1.15 and 0.89 s warm, and 0.93,
1.16 and 0.93 s warm on disk (the table is the last set). So cold start meets its target with
room; warm start meets 1.0 s in a typical set but not in every one: the spread between sets is
as large as the margin.

### Where the start-up time goes

Measured with `bench/startup.py --profile` (one cold and one warm load; the tables below are from
this run, whose loads are slower than the timed ones because the CDP counters are on): resource
timings from `performance.getEntriesByType("resource")`, PyScript's `py:ready` / `py:done`
events, the marks `assets/js/pyodide.mjs` sets when PyScript asks it for Pyodide
(`streamium:pyodide-start`) and when it has it (`streamium:pyodide-ready`), the moment
`data-app-ready` turns true, and Chromium's counters (CDP `Performance.getMetrics`). The timed
figures stop the clock when a `MutationObserver` in the page sees `data-app-ready` turn true; until
2026-11-21 they stopped at Playwright's next `wait_for_selector` poll, which comes every 500 ms
after the first second and added 0–500 ms to each run.

{profile}

**What the page does to start fast** (before → after, same machine and conditions, runs of both
interleaved, 5 each, new clock: cold 3.66 → 1.53 s, warm 3.49 → 1.13 s, on-disk 2.52 → 0.99 s):

1. **It starts Python from a memory snapshot.** Bare `loadPyodide` takes ≈ 3.1 s here:
   instantiate CPython, unpack the standard library, import Pyodide's own modules, all
   compiled from source (`python_stdlib.zip` holds `.py` files only). `tools/snapshot.py`, run at
   set-up, does that once in Node with the vendored Pyodide (`loadPyodide({_makeSnapshot: true})`),
   imports what PyScript and the app import before the first screen (≈ 260 modules: asyncio,
   json, dataclasses, … plus embit and segno), compiles PyScript's own `pyscript` package and the
   app's modules from `assets/build/app.zip` (compiled, not imported: they need the page), and
   saves the interpreter's memory (`makeMemorySnapshot`).
   The page restores it instead: ≈ 0.4–0.6 s from `streamium:pyodide-start` to a ready
   interpreter. PyScript calls `loadPyodide` with `indexURL`, `stdout` and `stderr` only and has no
   setting for other options, so `pyscript.toml`'s `interpreter` is `assets/js/pyodide.mjs`, a
   ≈ 60-line same-origin wrapper around the vendored `pyodide.mjs` that passes `_loadSnapshot` and
   falls back to a normal boot when there is no snapshot (no Node at set-up) or it does not load.
   The snapshot holds state that must differ per visitor: the wrapper reseeds `random` (embit's
   pure-Python `ECKey.generate` draws from it; the app's keys come from `os.urandom`) after
   restoring. Two things stay as built: the string hash seed (the same
   for every visitor: a peer could precompute colliding dict keys; the 8 KiB message cap bounds the
   cost) and `time.timezone`/`time.tzname` (UTC; `time.localtime()` and `datetime` are right,
   Emscripten asks the browser; the app uses neither).
2. **It asks for everything at once.** `<link rel="preload">`/`modulepreload` in `index.html`
   for PyScript's config and chunks, Pyodide's files, the snapshot, the `[files]` zips and
   `app/main.py`: PyScript otherwise discovers them one step after another, and the zips only
   after the interpreter is up. PeerJS is `defer`red so it no longer blocks parsing.
3. **It sends less.** The snapshot leaves out its pages of zeros (30 → 16.8 MiB), big runtime
   files have gzipped siblings that aiohttp's `FileResponse` serves with `Content-Encoding: gzip`
   (`pyodide.asm.wasm` 9.2 → 3.4 MiB; the snapshot 6.6 MiB): a cold load moves ≈ 14 MiB. The
   snapshot is two files because Chromium's in-memory (incognito) HTTP cache keeps no entry
   above ≈ 6 MiB: in one piece it was downloaded again on every "warm" visit.

**Where the rest goes** (ms since navigation, from the profile above and CDP traces):

- **Navigation → `DOMContentLoaded`** (≈ 230 warm, ≈ 440 cold): the page's scripts and styles;
  cold, they share serve.py's six HTTP/1.1 connections with the runtime downloads.
- **→ `streamium:pyodide-start`** (≈ +110–350): PyScript reads `pyscript.toml`, loads its
  plugins, opens its IndexedDB storage and imports the interpreter module.
- **→ `streamium:pyodide-ready`** (≈ +500–570): waiting for the snapshot (cold: downloads end
  ≈ 650 ms; warm: from cache by ≈ 410 ms), then Pyodide itself: V8 validates the 9.2 MiB
  `pyodide.asm.wasm` and compiles each function the first time it runs (a cold trace shows
  ≈ 200 ms of `wasm.CompileLazy` on the main thread, and ≈ 1.6 s of TurboFan tier-up on
  background threads that compete for the 2 cores), Emscripten's runtime start (file system,
  the 2.4 MiB stdlib zip, ≈ 260 small wasm wrappers for the function table), and copying the
  snapshot into memory. On the on-disk second visit V8's wasm code cache is used
  (`v8.wasm.compileConsume`), but functions not yet tiered up still compile lazily.
- **→ `py:ready`** (≈ +100): PyScript unpacks the three `[files]` zips and sets up its Python
  side.
- **→ app-ready** (≈ +180–300): PyScript writes and imports its `pyscript` package (from the
  snapshot's compiled code: this step was ≈ 200–320 ms before), then `app/main.py`: importing
  `app.ui.boot` (its modules' code also comes from the snapshot: compiling them had cost ≈ 40–90
  ms; the import still runs them, e.g. two dataclasses in `app.config`) and `start()` (≈ 60–90 ms:
  `/config.json`, the first screen).

Tried, no measurable gain on loopback (kept where they help on real links): gzip vs raw files
(interleaved runs within noise; gzip is 2.5× less on the wire), which preloads (none, the runtime
only, all: within ≈ 0.1 s, all slightly best), `gc.collect()` before the snapshot (same size).
The app's modules in the snapshot's compiled code took the warm start from 1.04 to 0.94 s (5
runs each; cold 1.30 → 1.23 s); the price is that an app edit rebuilds the snapshot at the next
start (≈ 7–9 s of Node). Not done: Brotli siblings (snapshot 5.4 MiB instead of 6.6, but
Chromium sends `Accept-Encoding: br` over HTTPS only); HTTP/2 in front of serve.py for real
deployments (no six-connection limit); dropping PyScript (≈ 0.2–0.4 s of its own set-up, not
allowed). Browser flags would not reach users and are not counted; for scale, 3 cold loads each:
`--js-flags=--no-wasm-tier-up` (no TurboFan competing for the 2 cores) 1.35 → 1.25 s,
`--js-flags=--no-liftoff` (everything through TurboFan first) 3.6 s.
"""

PAYMENT_ANALYSIS = """\
### Where the payment-check time goes

The page verifies with libsecp256k1 compiled to WebAssembly (tiny-secp256k1 2.2.4's
`secp256k1.wasm`, vendored and hash-pinned), behind embit's own `ecdsa_verify`
(`app/ui/secp256k1_wasm.py`); embit's pure-Python verify answers until it has loaded, a fraction
of a second after the app is ready. `tests/browser/test_secp256k1_wasm.py` checks in the page
that both give CPython's native libsecp256k1 answers on valid, wrong-message, wrong-key, high-S
and altered-r signatures, and `tests/browser/test_channel_in_pyodide.py` runs a whole channel in
the page with it, byte for byte equal to CPython's. K1 is also parsed once per key
(`app/channel/signatures.py`), not once per `pay`.

Profiled with `bench/payments.py --profile` (cProfile inside the page's Pyodide, 300 checks,
0.66 ms a check under the profiler):

| part of one `pay` check | share (Pyodide, cProfile) |
|---|---|
| ECDSA verify: `secp256k1_wasm.ecdsa_verify` (copy key, digest and signature into the wasm memory, libsecp256k1's verify) | ≈ 41 % |
| BIP143 sighash of T3 (`sighash_segwit`, embit's serialisers and hashlib) | ≈ 22 % |
| JSON parse and message validation (`parse_message`) | ≈ 11 % |
| building T3 (`payment_tx`), strict-DER check and parse, new state | ≈ 15 % |
| `json.dumps` of the record | ≈ 5 % |

Before the wasm backend, the same profile was ≈ 85 % embit's pure-Python EC multiplication and
≈ 7 % parsing K1 again for every `pay`; the "before the wasm loads" row is that code path today.
The check is now spread over ordinary Python, so what is left would need a faster interpreter
rather than a faster curve. For scale: one viewer sends one `pay` every `pay_interval_s` (5 s by
default), so one page can check payments for thousands of viewers; the video encoding is what
limits viewers per broadcaster (see that section).
"""


PAID_API_ANALYSIS = """\
**The 0.5× target is missed: 0.42× at concurrency 16** (paid ≈ 1,700/s against ≈ 4,000/s unpaid),
up from 0.14× in the first measurement of the day. `pay.py bench` measures the same way: it times
nothing until its channel is usable. The exact close settles at least `min_payment_sat`, so the
10-request channel paid the payout's dust floor, 294 sat, not 100.

### Where the paid-request time goes, and what was done about it

The first measurement (0.14×, ≈ 490/s) was bound by the disk: ≈ 2¼ fsync'd SQLite commits a
request on the paywall's event loop, and the client rewriting its wallet file for a voucher every
4 requests. Changed since, each measured with this script:

| change | paid req/s at 16 | ratio |
|---|---|---|
| first measurement | ≈ 490 | 0.14 |
| group commit: the writes of one turn of the event loop in one transaction (each `BEGIN … COMMIT`: in autocommit mode `with connection:` had committed every statement alone), fsync only for K2 and new vouchers | ≈ 1,180 | 0.34 |
| vouchers four times the requests in flight ahead (a wallet write every ≈ 32 requests at 16) and a MAC for `auth` (ECDH key) instead of an ECDSA signature | ≈ 1,410 | 0.47 (a quiet run) |
| one regex per header, the seq window kept in memory (no read per request), the requests as the ledger (no channel row written per request) | ≈ 1,690 | 0.42 (the unpaid side got faster too) |

What is left is CPU: the three processes share the 2 cores, a paid request costs ≈ 1.0 ms of CPU
in all (client ≈ 0.33, paywall ≈ 0.50, upstream ≈ 0.15) against ≈ 0.42 ms unpaid, so the ratio
cannot pass ≈ 0.43 here until a paid request costs ≤ 0.84 ms. Of the extra ≈ 0.56 ms, the
receipt's ECDSA signature (paywall, ≈ 50 µs) and its verification (client, ≈ 77 µs) are the
largest single part; the SQLite statements ≈ 40 µs; parsing and making the two headers and the
MAC ≈ 30 µs; the rest is Python around them (the ledger, futures, one more turn of the loop for
each commit). The receipts stay signatures (the client can show them to anyone, the issue asks
for a signed receipt): a MAC there would reach the target and is the one trade-off left.
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
    ("relay.py", "Relay (Janus) against browser to browser",
     SAME + "P2P against serve.py --sfu janus side by side, in a network namespace (run as root): viewers "
     "1, 2, 4, 8, 12, 16 … each paying its own channel, the broadcaster's upload (outbound-rtp bytes) and CPU, "
     "Janus's CPU, join to first frame; the same pass criteria as viewers.py."),
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
         "same code runs in the real page's Pyodide through `tests/browser/pyodide.py`, as the app runs it "
         "(libsecp256k1 in wasm behind embit's verify) and with embit's pure-Python verify put back; the "
         "pure-Python CPython run hides `embit.util.ctypes_secp256k1` so embit falls back to "
         "`py_secp256k1`."),
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
        ("paid_api.py", "Paid API requests",
         "`paywall.py` charging 10 sat per `GET /v1/echo` against the same upstream with no payment, measured "
         "side by side in one run: real processes on loopback (serve.py's devnet mining a block a second, the toy "
         "upstream `tests/paywall/toy_api.py`, two paywall.py in front of it: one prices the route, the other "
         "serves it free with `--free '/v1/*'`, so both requests go through the identical proxy code and only one "
         "pays; both `--rate-limit 0`, fresh SQLite databases on this machine's disk). The same load generator for "
         "both: `streamium_pay`'s `PayingClient` (on the free proxy it gets its 200 without paying) with C requests "
         "in flight from asyncio workers, in one process; unpaid and paid batches are interleaved, each run "
         "alternating which goes first. The paid channel is opened and warmed before anything is timed (pay.py "
         "bench's warm-up: a deposit covering every timed request, the funding confirmed and seen by the paywall), "
         "so no timed request waits on the chain. On-chain: the channels are closed with the client's exact close "
         "and their transactions read back from the devnet's Esplora."),
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
        if script == "paid_api.py":
            out += [PAID_API_ANALYSIS, ""]
    return "\n".join(out) + "\n"
