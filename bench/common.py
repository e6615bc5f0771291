"""Shared helpers for the bench/ scripts: argument parsing, statistics and markdown tables.

Every benchmark script prints a markdown table (min / median / max over --runs) and,
with --json FILE, writes its rows as JSON so bench/run_all.py can build docs/benchmarks.md.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parser(doc: str, runs: int = 5) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=runs, help=f"repetitions (default {runs}, at least 5 for the docs)")
    p.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (for tests/bench)")
    p.add_argument("--json", type=Path, help="also write the rows (and notes) to this JSON file")
    return p


def cdp_metrics(cdp) -> dict:
    """Chromium's page counters (CDP Performance.getMetrics, after Performance.enable) by name."""
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def row(figure: str, values, unit: str, target: str = "", met=None, fmt: str = "{:.2f}", note: str = "") -> dict:
    """One table row; `met` is True/False/None (no target), `values` one number per run."""
    values = list(values)
    return {"figure": figure, "runs": len(values), "unit": unit,
            "min": min(values), "median": statistics.median(values), "max": max(values),
            "fmt": fmt, "target": target, "met": met, "note": note}


def fmt_row(r: dict) -> list:
    f = r["fmt"]
    met = "" if r["met"] is None else ("met" if r["met"] else "**missed**")
    return [r["figure"], str(r["runs"]), f.format(r["min"]), f.format(r["median"]), f.format(r["max"]),
            r["unit"], r["target"] or "–", met or "–"]


HEADER = ["figure", "runs", "min", "median", "max", "unit", "target", "result"]


def table(rows) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(fmt_row(r)) + " |" for r in rows]
    return "\n".join(lines)


def emit(args, rows, notes: str = "", extra: dict | None = None) -> None:
    """Print the table (and notes); write JSON if asked."""
    print(table(rows))
    if notes:
        print()
        print(notes.rstrip())
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "notes": notes, "extra": extra or {}}, indent=1))
