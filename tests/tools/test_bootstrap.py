"""First-run set-up: serve.py and the tests share one .venv without reinstalling each other's packages."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from tools import bootstrap  # noqa: E402


def test_installed_requirements_add_up_so_nothing_is_installed_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "DEPS_STAMP", tmp_path / "stamp")
    runs = []
    monkeypatch.setattr(bootstrap.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or
                        type("Done", (), {"returncode": 0})())
    monkeypatch.setattr(bootstrap, "say", lambda message: None)
    serve, tests = bootstrap.requirements(()), bootstrap.requirements(("test",))
    bootstrap.install_requirements(tests)
    bootstrap.install_requirements(serve)
    bootstrap.install_requirements(tests)
    assert len(runs) == 1
    assert set(serve) < set(tests)
