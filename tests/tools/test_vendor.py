"""tools/vendor.py: pinned, hash-checked, idempotent, and clear when it cannot do its job."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))
import vendor  # noqa: E402

ROOT = vendor.ROOT


def peerjs_only_lock(tmp_path, monkeypatch, **changes):
    lock = json.loads(vendor.LOCK.read_text())
    entry = next(e for e in lock["npm"] if e["name"] == "peerjs")
    entry.update(changes)
    lock = {"npm": [entry], "pypi": []}
    monkeypatch.setattr(vendor, "LOCK", tmp_path / "lock.json")
    monkeypatch.setattr(vendor, "VENDOR", tmp_path / "vendor")
    monkeypatch.setattr(vendor, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(vendor, "STAMP", tmp_path / "vendor" / ".stamp.json")
    vendor.LOCK.write_text(json.dumps(lock))
    (tmp_path / "vendor").mkdir()
    return entry


def cached_peerjs_into(tmp_path):
    (tmp_path / "cache").mkdir()
    shutil.copy(ROOT / ".cache" / "vendor" / "peerjs-1.5.5.tgz", tmp_path / "cache")


def test_a_second_run_does_nothing():
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor.py")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    assert run.stdout.strip() == "vendor: up to date"


def test_every_vendored_file_the_page_needs_is_present():
    for path in ["pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm",
                 "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json", "pyscript/core.js",
                 "peerjs/peerjs.min.js", "pico/pico.min.css", "python/embit.zip", "python/segno.zip"]:
        assert (ROOT / "assets" / "vendor" / path).is_file(), path


def test_embit_is_packed_without_its_native_libraries():
    import zipfile
    names = zipfile.ZipFile(ROOT / "assets" / "vendor" / "python" / "embit.zip").namelist()
    assert "embit/ec.py" in names
    assert not [n for n in names if "prebuilt" in n or n.endswith((".so", ".dll", ".dylib"))]


def test_vendoring_unpacks_only_the_listed_files(tmp_path, monkeypatch):
    peerjs_only_lock(tmp_path, monkeypatch)
    cached_peerjs_into(tmp_path)
    assert vendor.vendor(log=lambda m: None) is True
    files = sorted(p.relative_to(tmp_path / "vendor").as_posix()
                   for p in (tmp_path / "vendor").rglob("*") if p.is_file())
    assert files == [".stamp.json", "peerjs/peerjs.min.js"]
    assert vendor.vendor(log=lambda m: None) is False


def test_a_hash_mismatch_names_the_package_and_keeps_nothing(tmp_path, monkeypatch):
    peerjs_only_lock(tmp_path, monkeypatch, integrity="sha512-" + "A" * 86 + "==")
    cached_peerjs_into(tmp_path)
    with pytest.raises(vendor.VendorError, match=r"hash mismatch for peerjs@1\.5\.5"):
        vendor.vendor(log=lambda m: None)
    assert not (tmp_path / "cache" / "peerjs-1.5.5.tgz").exists()
    assert not (tmp_path / "vendor" / ".stamp.json").exists()


def test_an_unreachable_registry_is_one_clear_line_naming_the_package(tmp_path, monkeypatch):
    peerjs_only_lock(tmp_path, monkeypatch)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_offline", "false")
    with pytest.raises(vendor.VendorError, match=r"cannot fetch peerjs@1\.5\.5 from the npm registry"):
        vendor.vendor(log=lambda m: None)
