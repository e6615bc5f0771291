"""The offline copy's manifest, assets/build/offline.json: every file the page fetches from its
own origin, and one version naming all their contents. The service worker (sw.js) keeps one
whole copy per version, so a return visit starts with no network at all, and a new version
replaces the old one only once it is complete (never a new snapshot with an old runtime).

Written by tools/bootstrap.py after the snapshot, and by tools/vendor.py and tools/snapshot.py
for static hosting.

    python3 tools/offline.py
"""

import hashlib
import json
from pathlib import Path

import runtime_dir
from write_if_changed import write_if_changed

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "assets" / "build" / "offline.json"
PAGE = ["./", "index.html", "pyscript.toml", "app/main.py", "assets/img/icon.svg"]
LEFT_OUT = (".gz", ".br", ".tmp", ".map")  # compressed twins (the browser gets them as the file), maps
NOT_FETCHED = {"assets/build/offline.json", "assets/build/pyodide.snapshot.json"} | {
    # the page fetches these from the runtime folder (tools/runtime_dir.py), never from here
    f"assets/vendor/pyodide/{name}" for name in runtime_dir.PYODIDE_FILES} | {
    f"assets/build/{name}" for name in runtime_dir.SNAPSHOT_FILES}
TEST_ONLY = ("assets/vendor/axe-core/",)


def files() -> list:
    found = []
    for path in sorted((ROOT / "assets").rglob("*")):
        rel = path.relative_to(ROOT).as_posix()
        if (path.is_file() and not path.name.startswith(".") and not rel.endswith(LEFT_OUT)
                and rel not in NOT_FETCHED and not rel.startswith(TEST_ONLY)):
            found.append(rel)
    return PAGE + [rel for rel in found if rel not in PAGE]


def write_manifest() -> dict:
    """The manifest as written (rewritten only when it changed), after the runtime folder it lists."""
    runtime_dir.build_runtime_dir()
    listed = files()
    digest = hashlib.sha256()
    for rel in listed:
        content = (ROOT / "index.html" if rel == "./" else ROOT / rel).read_bytes()
        digest.update(f"{rel}\0{hashlib.sha256(content).hexdigest()}\n".encode())
    manifest = {"version": digest.hexdigest()[:16], "files": [f"./{rel}" if rel != "./" else rel for rel in listed]}
    text = json.dumps(manifest, indent=1) + "\n"
    write_if_changed(MANIFEST, text)
    return manifest


if __name__ == "__main__":
    made = write_manifest()
    print(f"offline: version {made['version']}, {len(made['files'])} files")
