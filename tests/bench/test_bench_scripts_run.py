"""Every benchmark script still runs (`--tiny`): no figures are checked here, see docs/benchmarks.md."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ["onchain.py", "devnet.py", "payments.py", "startup.py", "paid_api.py",  # paid_api: real processes, ≈ 20 s
           "join.py", "roundtrip.py", "viewers.py", "memory.py"]  # the last four run the live app


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_tiny(script, tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--tiny", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| figure | runs | min | median | max |" in done.stdout
    assert out.exists()


def test_report_renders_from_rows(tmp_path):
    """run_all's page builder, on fake rows (the scripts themselves are run above)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from common import row
    from report import render_page

    fake = {"rows": [row("x", [1, 2, 3], "s", target="≤ 2 s", met=True)], "notes": ""}
    page = render_page({s: fake for s in SCRIPTS}, {"CPU": "cpu"}, {"Python": "3"}, 5, False, "today")
    assert "| x | 3 |" in page and "needs the app" not in page
    for title in ("Paid API requests", "Join to first frame", "Payment round trip", "Viewers per broadcaster", "Memory"):
        assert f"## {title}" in page
