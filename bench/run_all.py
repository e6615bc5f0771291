#!/usr/bin/env python3
"""Run every benchmark in bench/ and write docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [--runs 5] [--tiny] [--out docs/benchmarks.md] [--render]

Each script runs in its own process with --json; this script only collects the rows,
adds the machine and versions, and writes the page (with --tiny, to --out only if given).
"""

import argparse
import datetime
import importlib.metadata as metadata
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


BENCHES = [  # (script, section title, extra args)
    ("startup.py", "Cold and warm start", ["--profile"]),
    ("payments.py", "Payment checks per second", []),
    ("onchain.py", "On-chain cost of a channel", []),
    ("devnet.py", "Devnet", []),
    ("paid_api.py", "Paid API requests", []),
    ("join.py", "Join to first frame", []),
    ("roundtrip.py", "Payment round trip", []),
    ("viewers.py", "Viewers per broadcaster", []),
    ("relay.py", "Relay (Janus) against browser to browser", []),  # as root: a network namespace
    ("memory.py", "Memory", []),
]
COMMAND = ".venv/bin/python bench/run_all.py"
SAVED = ROOT / "bench" / "results" / "run_all.json"  # the last full run's rows (git-ignored), for --render


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {"CPU": cpu, "cores (nproc)": nproc, "memory": f"{mem_kib / 2**20:.1f} GiB",
            "OS": platform.platform()}


def versions() -> dict:
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    lock = json.loads((ROOT / "tools" / "vendor-lock.json").read_text())
    pinned = {p["name"]: p["version"] for group in lock.values() if isinstance(group, list) for p in group}
    return {"Python": platform.python_version(), "Chromium": chromium,
            "Pyodide": pinned.get("pyodide", "?"), "PyScript": pinned.get("@pyscript/core", "0.7.31"),
            "embit": metadata.version("embit"), "py-bitcoinkernel": metadata.version("py-bitcoinkernel"),
            "Playwright": metadata.version("playwright")}


def run(script, extra, runs, tiny, tmp) -> dict:
    out = Path(tmp) / (script + ".json")
    cmd = [sys.executable, str(ROOT / "bench" / script), "--json", str(out), *extra]
    cmd += ["--tiny"] if tiny else ["--runs", str(runs)]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return json.loads(out.read_text())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--tiny", action="store_true", help="smoke run of every script")
    p.add_argument("--out", type=Path, help="where to write (default docs/benchmarks.md; with --tiny: nowhere)")
    p.add_argument("--render", action="store_true",
                   help=f"only rewrite the page from the last full run's rows ({SAVED.relative_to(ROOT)})")
    args = p.parse_args()
    if args.render:
        results = json.loads(SAVED.read_text())
    else:
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            for script, title, extra in BENCHES:
                results[script] = run(script, extra, args.runs, args.tiny, tmp)
        if not args.tiny:
            SAVED.parent.mkdir(exist_ok=True)
            SAVED.write_text(json.dumps(results))
    out = args.out or (None if args.tiny else ROOT / "docs" / "benchmarks.md")
    page = render(results, args)
    if out:
        out.write_text(page)
        print(f"wrote {out}")
    else:
        print(page)


def render(results, args) -> str:
    from report import render_page
    return render_page(results, machine(), versions(), args.runs, args.tiny,
                       datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


if __name__ == "__main__":
    main()
