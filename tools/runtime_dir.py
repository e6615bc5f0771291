"""The runtime under a name of its contents: assets/build/runtime/<digest>/.

Pyodide and the snapshot are 9 MiB a first visit moves and that change together (a new Pyodide,
a new standard library, an app edit that rebuilds the snapshot). Served under fixed names they
need either a revalidation on every visit or a cache lifetime that can mix an old runtime with a
new snapshot. Under a folder named by the digest of all of them, serve.py sends them as
`immutable` for a year: a return visit asks for none of them, and a new build is a new folder.
assets/build/runtime.mjs (no-cache) names the current folder for assets/js/pyodide.mjs and
assets/js/boot.js.

The files are copies of assets/vendor/pyodide/ and the snapshot, with their .br and .gz twins
(not hard links: a later build that rewrote a source in place would change a folder that browsers
keep for a year); folders of older builds are removed.

    python3 tools/runtime_dir.py   # what tools/bootstrap.py runs after the snapshot
"""

import hashlib
import shutil
from pathlib import Path

from write_if_changed import write_if_changed

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "assets" / "build"
PYODIDE = ROOT / "assets" / "vendor" / "pyodide"
FOLDERS = BUILD / "runtime"
POINTER = BUILD / "runtime.mjs"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
SNAPSHOT_FILES = ("pyodide.snapshot.0", "pyodide.snapshot.1")
TWINS = (".br", ".gz")


def sources() -> list:
    """The plain files of this build's runtime (the snapshot only if there is one)."""
    snapshot = [BUILD / name for name in SNAPSHOT_FILES]
    return [PYODIDE / name for name in PYODIDE_FILES] + (snapshot if all(p.exists() for p in snapshot) else [])


def digest(paths) -> str:
    total = hashlib.sha256()
    for path in paths:
        total.update(f"{path.name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return total.hexdigest()[:16]


def build_runtime_dir() -> Path:
    """The folder of this build's runtime, made if missing, and runtime.mjs naming it."""
    plain = sources()
    name = digest(plain)
    folder = FOLDERS / name
    if not folder.is_dir():  # made whole under another name, so a server never sees half of it
        tmp = FOLDERS / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for source in plain:
            shutil.copyfile(source, tmp / source.name)
        tmp.rename(folder)
    for source in plain:  # the compressed twins, also when they were made after the folder
        for twin in (source.with_name(source.name + ext) for ext in TWINS):
            if twin.exists() and not (folder / twin.name).exists():
                shutil.copyfile(twin, folder / twin.name)
    for old in FOLDERS.iterdir():
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    snapshot = "true" if len(plain) > len(PYODIDE_FILES) else "false"
    text = ("// Written by tools/runtime_dir.py: this build's runtime, in a folder named by its contents.\n"
            f'export const runtime = new URL("./runtime/{name}/", import.meta.url).href;\n'
            f"export const snapshot = {snapshot};  // false: no Node at build time, Pyodide boots from scratch\n")
    write_if_changed(POINTER, text)
    return folder


if __name__ == "__main__":
    print(f"runtime: {build_runtime_dir().relative_to(ROOT)}")
