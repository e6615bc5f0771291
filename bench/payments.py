#!/usr/bin/env python3
"""Payment checks per second: the broadcaster's whole handling of a valid `pay` message.

What one check is: `Broadcaster.receive(text, now)` on an open channel (parse and
validate the JSON, build T3(amount), BIP143 sighash, strict-DER/low-S checks, ECDSA
verify under K1, update the state and build the record), then `json.dumps` of the
record the glue stores before `pay_ack` leaves. Messages are signed beforehand, outside
the timing, with strictly increasing amounts, one per simulated second.

Three places:
- Pyodide 314 in the real page (Chromium, headless), through tests/browser/pyodide.py:
  as the app runs it (embit with libsecp256k1's wasm verify, app/ui/secp256k1_wasm.py),
  and with embit's pure-Python verify put back (the page before the wasm has loaded);
- CPython with embit's native libsecp256k1 (ctypes);
- CPython with embit's pure-Python secp256k1 (the code the browser runs), forced by
  hiding embit.util.ctypes_secp256k1, in a subprocess.

    .venv/bin/python bench/payments.py [--runs 5] [--per-run 300] [--tiny] [--profile]
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, emit, parser, row  # noqa: E402  (sets sys.path)

import pay_core

TARGET = 500
FULL_CHANNEL = (ROOT / "tests" / "channel" / "full_channel.py").read_text().replace(
    'if __name__ == "__main__":', "if False:")
PAY_CORE = (Path(__file__).resolve().parent / "pay_core.py").read_text()


def native_rates(per_run, runs):
    return pay_core.run(per_run, runs)


def fallback_rates(per_run, runs, profile=False):
    """CPython with embit's pure-Python secp256k1, in a fresh interpreter."""
    code = f"""
import sys, json
sys.modules["embit.util.ctypes_secp256k1"] = None  # import fails -> embit falls back to py_secp256k1
sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'bench')!r}]
from embit.util import secp256k1
assert secp256k1.ecdsa_verify.__module__ == "embit.util.py_secp256k1"
import pay_core
if {profile!r}:
    from pyinstrument import Profiler
    profiler = Profiler(interval=0.0005)
    profiler.start()
rates = pay_core.run({per_run}, {runs})
if {profile!r}:
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
print(json.dumps(rates))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode or profile:
        print(out.stderr, file=sys.stderr)
    if out.returncode:
        raise SystemExit("the pure-Python CPython run failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


BROWSER_PROFILE = """
import cProfile, pstats, io
pair = open_pair()
prof = cProfile.Profile()
prof.enable()
time_payments(pair.broadcaster, MESSAGES[:%d], pair.now + 1)
prof.disable()
s = io.StringIO()
pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(25)
s2 = io.StringIO()
pstats.Stats(prof, stream=s2).sort_stats("tottime").print_stats(15)
result = s.getvalue() + s2.getvalue()
"""


# The page with embit's own pure-Python verify, as before the wasm backend loads.
PURE_PYTHON = """
from embit.util import py_secp256k1, secp256k1
installed, secp256k1.ecdsa_verify = secp256k1.ecdsa_verify, py_secp256k1.ecdsa_verify
try:
    result = %s
finally:
    secp256k1.ecdsa_verify = installed
"""


def browser_rates(per_run, runs, profile=False, page=None, url=None):
    """Rates in the page's Pyodide (as loaded, then with embit's pure-Python verify);
    starts serve.py and Chromium unless given a page."""
    from tests.browser.pyodide import run_python

    messages = pay_core.pay_messages(pay_core.open_pair(), per_run * runs)
    source = FULL_CHANNEL + "\n" + PAY_CORE + f"\nMESSAGES = {messages!r}\n"

    def measure(page):
        page.wait_for_selector("body[data-secp256k1=libsecp256k1]", timeout=60_000)
        rates = run_python(page, source + f"result = run({per_run}, {runs}, MESSAGES)\n", timeout=600_000)
        python_rates = run_python(page, source + PURE_PYTHON % f"run({per_run}, {runs}, MESSAGES)",
                                  timeout=600_000)
        if profile:
            print(run_python(page, source + BROWSER_PROFILE % per_run, timeout=600_000), file=sys.stderr)
        return rates, python_rates

    if page is not None:
        return measure(page)
    from playwright.sync_api import sync_playwright
    from tests.conftest import CHROMIUM_ARGS, ServerProcess
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess("--block-interval", "0", data_dir=Path(tmp) / "devnet").start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page()
                    page.goto(url or server.url + "/")
                    page.wait_for_selector("body[data-app-ready=true]", timeout=120_000)
                    return measure(page)
                finally:
                    browser.close()
        finally:
            server.stop()


def main():
    p = parser(__doc__)
    p.add_argument("--per-run", type=int, default=300, help="payments per run (default 300)")
    p.add_argument("--profile", action="store_true", help="print cProfile (page) and pyinstrument (CPython fallback) to stderr")
    args = p.parse_args()
    runs, per_run = (5, 10) if args.tiny else (args.runs, args.per_run)
    native = native_rates(per_run * (1 if args.tiny else 10), runs)
    fallback = fallback_rates(per_run, runs, args.profile)
    browser, browser_python = browser_rates(per_run, runs, args.profile)
    import statistics
    native_median, fallback_median = statistics.median(native), statistics.median(fallback)
    rows = [
        row("payment checks/s, browser (Pyodide, libsecp256k1 wasm verify)", browser, "/s",
            target=f"≥ {TARGET}/s", met=min(browser) >= TARGET, fmt="{:.0f}"),
        row("payment checks/s, browser before the wasm loads (embit pure-Python verify)",
            browser_python, "/s", fmt="{:.0f}"),
        row("payment checks/s, CPython + native libsecp256k1", native, "/s", fmt="{:.0f}"),
        row("payment checks/s, CPython + embit pure-Python secp256k1", fallback, "/s", fmt="{:.0f}"),
        row("browser / CPython native (each browser run ÷ native median)",
            [b / native_median for b in browser], "×", fmt="{:.3f}"),
        row("browser pure-Python / CPython pure-Python (each run ÷ CPython's median)",
            [b / fallback_median for b in browser_python], "×", fmt="{:.2f}"),
    ]
    emit(args, rows, f"{per_run} payments per browser and pure-Python run, "
                     f"{per_run * (1 if args.tiny else 10)} per native run; rates are payments / wall time of the batch.")


if __name__ == "__main__":
    main()
