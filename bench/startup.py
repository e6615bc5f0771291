#!/usr/bin/env python3
"""Cold and warm start: navigation to <body data-app-ready="true">, in headless Chromium.

Cold: a fresh browser context (empty cache) each run. Warm: the same context,
second visit. Prints min/median/max over --runs and writes nothing else.

    .venv/bin/python bench/startup.py [--runs 5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM_ARGS, ServerProcess  # noqa: E402


def time_to_ready(page, url):
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-app-ready=true]", timeout=120_000)
    return time.perf_counter() - start


def measure(url, runs):
    cold, warm = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            cold.append(time_to_ready(page, url))
            page = context.new_page()
            warm.append(time_to_ready(page, url))
            context.close()
        browser.close()
    return {"cold start": cold, "warm start": warm}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess("--block-interval", "0", data_dir=Path(tmp) / "devnet").start()
        try:
            results = measure(server.url + "/", args.runs)
        finally:
            server.stop()
    print(f"| figure | runs | min s | median s | max s |\n|---|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {len(values)} | {min(values):.2f} | {statistics.median(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
