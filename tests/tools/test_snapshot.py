"""tools/snapshot.py: the Pyodide snapshot the page starts from, and the brotli and gzip twins of
the runtime files."""

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import brotli
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))
import snapshot  # noqa: E402

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def moved_snapshot(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "SNAPSHOT", tmp_path / "pyodide.snapshot")
    monkeypatch.setattr(snapshot, "STAMP", tmp_path / "pyodide.snapshot.json")


@needs_node
def test_a_second_run_does_nothing():
    snapshot.build_snapshot(log=lambda m: None)
    assert all(part.exists() for part in snapshot.parts())
    assert snapshot.build_snapshot(log=lambda m: None) is False


@needs_node
def test_the_snapshot_starts_with_the_libraries_imported_and_the_app_compiled(tmp_path):
    snapshot.build_snapshot(log=lambda m: None)
    probe = tmp_path / "probe.mjs"
    wrapper = snapshot.ROOT / "assets" / "js" / "pyodide.mjs"  # the page's, for expandSnapshot
    probe.write_text(f"""
import {{ loadPyodide }} from {(snapshot.PYODIDE / "pyodide.mjs").as_uri()!r};
import {{ expandSnapshot }} from {wrapper.as_uri()!r};
import fs from "node:fs";
const image = expandSnapshot({[str(p) for p in snapshot.parts()]!r}.map((path) => {{
  const file = fs.readFileSync(path);
  return file.buffer.slice(file.byteOffset, file.byteOffset + file.length);
}}));
const pyodide = await loadPyodide({{indexURL: {str(snapshot.PYODIDE) + "/"!r}, _loadSnapshot: image}});
console.log(pyodide.runPython("import sys; ' '.join(m for m in ('embit.ec', 'segno', 'asyncio', 'json') if m in sys.modules)"));
// PyScript's package is precompiled, but a source that differs is compiled as it is
pyodide.FS.mkdirTree("pyscript");
pyodide.FS.writeFile("pyscript/__init__.py", "CHANGED = True\\n");
console.log(pyodide.runPython("import pyscript; str(pyscript.CHANGED)"));
// the app's modules are compiled in it too (from app.zip, which is not unpacked there)
console.log(pyodide.runPython(`
import os, sys
loader = sys.modules["_frozen_importlib_external"].SourceLoader.source_to_code
compiled = dict(zip(loader.__code__.co_freevars, (c.cell_contents for c in loader.__closure__)))["compiled"]
wanted = [os.path.join(os.getcwd(), name) for name in ("app/ui/boot.py", "app/channel/broadcaster.py")]
str(all(path in compiled for path in wanted) and not os.path.exists(wanted[0]))
`));
""")
    run = subprocess.run([NODE, str(probe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-6:] == ["embit.ec", "segno", "asyncio", "json", "True", "True"]


def test_without_node_a_stale_snapshot_is_removed_and_the_page_boots_from_scratch(tmp_path, monkeypatch):
    moved_snapshot(tmp_path, monkeypatch)
    for part in snapshot.parts():
        part.write_bytes(b"stale")
        part.with_name(part.name + ".gz").write_bytes(b"stale")
    monkeypatch.setattr(snapshot.shutil, "which", lambda name: None)
    logs = []
    assert snapshot.build_snapshot(log=logs.append) is False
    assert [p.name for p in tmp_path.iterdir()] == ["pyodide.snapshot.json"]
    assert any("from scratch" in line for line in logs)
    assert snapshot.build_snapshot(log=logs.append) is False
    assert len(logs) == 1  # said once, not on every start


def test_a_failing_build_leaves_no_snapshot_and_says_why(tmp_path, monkeypatch):
    moved_snapshot(tmp_path, monkeypatch)
    logs = []
    assert snapshot.build_snapshot(node="/bin/false", log=logs.append) is False
    assert not snapshot.STAMP.exists() and not any(p.exists() for p in snapshot.parts())
    assert logs and "failed" in logs[0]


def test_precompressed_files_match_and_follow_their_source(tmp_path):
    source = tmp_path / "runtime.wasm"
    source.write_bytes(b"\0asm" * 50_000)
    assert snapshot.precompress([source]) == 2  # its .br and its .gz
    packed, brotlied = tmp_path / "runtime.wasm.gz", tmp_path / "runtime.wasm.br"
    assert gzip.decompress(packed.read_bytes()) == brotli.decompress(brotlied.read_bytes()) == source.read_bytes()
    assert len(packed.read_bytes()) < 10_000
    assert snapshot.precompress([source]) == 0
    source.write_bytes(b"new!" * 50_000)
    later = packed.stat().st_mtime_ns + 1_000_000_000
    os.utime(source, ns=(later, later))
    assert snapshot.precompress([source]) == 2
    assert gzip.decompress(packed.read_bytes()) == brotli.decompress(brotlied.read_bytes()) == source.read_bytes()


def test_the_big_runtime_files_are_compressed_and_of_the_zips_only_the_stored_standard_library():
    names = {p.name for p in snapshot.gzip_targets()}
    assert {"pyodide.asm.wasm", "pyodide.asm.mjs", "python_stdlib.zip"} <= names
    assert {n for n in names if n.endswith((".zip", ".map"))} == {"python_stdlib.zip"}
