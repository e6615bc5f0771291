"""Make the page start fast: a Pyodide memory snapshot, and gzipped runtime files.

Booting Pyodide (instantiate CPython, unpack the standard library, import its
own modules and then the ones PyScript and the app need, all compiled from
source) takes seconds in a browser. `tools/snapshot.mjs` does it once here, in
Node, with the vendored Pyodide, and saves the interpreter's memory as
assets/build/pyodide.snapshot; assets/js/pyodide.mjs hands it to loadPyodide, so
the page starts from the imported state in a fraction of the time (docs/benchmarks.md).

Node is needed only for this step. Without it there is no snapshot and the page
boots Pyodide from scratch, as before: slower, otherwise the same. The snapshot
is rebuilt when any input changes (the vendored Pyodide, embit and segno, the
app's zip, the script) and removed when it is stale and cannot be rebuilt.

The big runtime files also get `.br` and `.gz` siblings, which aiohttp's FileResponse
serves with `Content-Encoding: br` or `gzip` to browsers that accept them (Chromium asks
for br over plain http too; a static host that cannot negotiate serves the plain file).

    python3 tools/snapshot.py   # what tools/bootstrap.py runs on every start
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYODIDE = ROOT / "assets" / "vendor" / "pyodide"
SCRIPT = ROOT / "tools" / "snapshot.mjs"
ZIPS = [ROOT / "assets" / "vendor" / "python" / "embit.zip",
        ROOT / "assets" / "vendor" / "python" / "segno.zip"]
PYSCRIPT = ROOT / "assets" / "vendor" / "pyscript"
# Compiled into the snapshot, not imported (tools/pack_app.py writes it, before this runs):
# an app edit rebuilds the snapshot (about 10 s), and saves the page compiling the app.
APP_ZIP = ROOT / "assets" / "build" / "app.zip"


def pyscript_core():
    """PyScript's bundle, which holds its Python package (core.js only re-exports it)."""
    found = sorted(PYSCRIPT.glob("core-*.js"))
    return found[0] if found else PYSCRIPT / "core.js"


INPUTS = [PYODIDE / name for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                                      "python_stdlib.zip", "pyodide-lock.json")] + ZIPS + [APP_ZIP, SCRIPT]
SNAPSHOT = ROOT / "assets" / "build" / "pyodide.snapshot"
STAMP = SNAPSHOT.with_name("pyodide.snapshot.json")
# Served as two files (pyodide.snapshot.0 and .1, fetched in parallel and joined by
# assets/js/pyodide.mjs): gzipped, each stays under the ~6 MiB a Chromium in-memory
# (incognito) HTTP cache keeps per entry, so a second visit there does not fetch it again.
PARTS = 2


def parts():
    return [SNAPSHOT.with_name(f"{SNAPSHOT.name}.{i}") for i in range(PARTS)]

# Served compressed: text and wasm above this size, and the standard library, which
# tools/vendor.py stores uncompressed for this (tools/stdlib.py); the other zips are deflated.
GZIP_SUFFIXES = {".wasm", ".mjs", ".js", ".json", ".css"}
GZIP_MIN_BYTES = 50_000
STDLIB = PYODIDE / "python_stdlib.zip"


def input_files():
    return INPUTS + [pyscript_core()]


def file_stats():
    """Size and mtime of each input: a cheap check before hashing 25 MB on every start."""
    return {p.relative_to(ROOT).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns] for p in input_files()}


def inputs_digest():
    h = hashlib.sha256()
    for path in input_files():
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def read_stamp():
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def write_stamp(digest, built):
    tmp = STAMP.with_name(f".{STAMP.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"inputs": digest, "files": file_stats(), "built": built}) + "\n")
    tmp.replace(STAMP)


def remove_snapshot():
    for path in [SNAPSHOT, STAMP, *parts()]:
        path.unlink(missing_ok=True)
        for suffix, _ in ENCODINGS:
            path.with_name(path.name + suffix).unlink(missing_ok=True)


def build_snapshot(node=None, log=print):
    """Returns True when a new snapshot was written."""
    if not all(path.exists() for path in input_files()):
        return False  # nothing vendored yet
    node = node or shutil.which("node")
    stamp = read_stamp()
    built = all(p.exists() for p in parts())
    if stamp.get("built") is False and node is None:
        return False  # said so when it happened; nothing changed since
    if stamp.get("built") and built and stamp.get("files") == file_stats():
        return False
    digest = inputs_digest()
    if stamp.get("inputs") == digest and stamp.get("built") and built:
        write_stamp(digest, True)  # same content, new mtimes
        return False
    if node is None:
        remove_snapshot()
        write_stamp(digest, False)
        log("snapshot: node not found: the page will boot Pyodide from scratch (seconds slower); "
            "install Node and start again for the fast start")
        return False
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    tmp = SNAPSHOT.with_name(f".{SNAPSHOT.name}.{os.getpid()}.tmp")  # dot: never served
    env = dict(os.environ, TZ="UTC")
    done = subprocess.run([node, str(SCRIPT), str(PYODIDE), str(pyscript_core()), str(tmp), *map(str, ZIPS),
                           "--compile", str(APP_ZIP)],
                          capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        remove_snapshot()
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        log(f"snapshot: building the Pyodide snapshot failed ({last[0][:200]}); booting from scratch")
        return False
    image = tmp.read_bytes()
    tmp.unlink()
    remove_snapshot()
    size = -(-len(image) // PARTS)
    for i, part in enumerate(parts()):
        part_tmp = part.with_name(f".{part.name}.{os.getpid()}.tmp")
        part_tmp.write_bytes(image[i * size:(i + 1) * size])
        part_tmp.replace(part)
    write_stamp(digest, True)
    log(f"snapshot: Pyodide snapshot written ({len(image) >> 20} MiB in {PARTS} files)")
    return True


def gzip_targets():
    vendor = ROOT / "assets" / "vendor"
    found = [p for p in vendor.rglob("*") if p.is_file() and p.suffix in GZIP_SUFFIXES
             and p.stat().st_size >= GZIP_MIN_BYTES] if vendor.exists() else []
    return sorted(set(found) | {p for p in [*parts(), STDLIB] if p.exists()})


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _brotli(data: bytes) -> bytes:
    import brotli  # pyproject.toml: the set-up installs it; only this step needs it
    return brotli.compress(data, quality=11, lgwin=24)


ENCODINGS = ((".br", _brotli), (".gz", _gzip))  # aiohttp's FileResponse picks .br, then .gz, by Accept-Encoding


def _compressed(job):
    path, suffix = job
    target = path.with_name(path.name + suffix)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(dict(ENCODINGS)[suffix](path.read_bytes()))
    tmp.replace(target)


def precompress(paths=None, log=None):
    """Write `<file>.br` and `<file>.gz` next to each file whose copy is missing or older (brotli
    at its strongest: ≈ 25 % fewer bytes than gzip for the runtime, seconds per file, so the
    files are done in parallel); returns how many were written. `log` hears of a long wait."""
    jobs = []
    for path in gzip_targets() if paths is None else paths:
        for suffix, _ in ENCODINGS:
            target = path.with_name(path.name + suffix)
            if not target.exists() or target.stat().st_mtime_ns < path.stat().st_mtime_ns:
                jobs.append((path, suffix))
    if jobs:
        if log and any(suffix == ".br" and path.stat().st_size > 1 << 20 for path, suffix in jobs):
            log(f"compressing {len(jobs)} runtime files for the network (brotli: up to a minute, once per change)")
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor() as pool:
            list(pool.map(_compressed, jobs))
    return len(jobs)


def main():
    build_snapshot()
    precompress()
    from offline import write_manifest  # the offline copy names the new snapshot
    write_manifest()


if __name__ == "__main__":
    sys.exit(main())
