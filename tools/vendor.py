"""Put the browser runtime into assets/vendor/, pinned and hash-checked.

The page loads nothing from a CDN: Pyodide, PyScript, PeerJS, Pico CSS and the
pure-Python packages the browser imports are fetched once with the ordinary npm
and pip clients, checked against tools/vendor-lock.json, and unpacked here.
A stamp makes a second run do nothing. Only the standard library is used, so
this runs before any virtual environment exists.

    python3 tools/vendor.py          # vendor what is missing
    python3 tools/vendor.py --force  # vendor again from the download cache
"""

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import stdlib  # tools/ is on sys.path wherever this runs: as a script, from bootstrap, in tests

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "tools" / "vendor-lock.json"
VENDOR = ROOT / "assets" / "vendor"
CACHE = ROOT / ".cache" / "vendor"
STAMP = VENDOR / ".stamp.json"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same files give the same zip


class VendorError(Exception):
    """A problem the user can act on; printed as one line."""


def lock_digest(lock_bytes):
    return hashlib.sha256(lock_bytes).hexdigest()


def outputs(lock):
    """Every path under assets/vendor/ the lock promises (directories end in /)."""
    paths = []
    for entry in lock["npm"]:
        paths.extend(entry["files"].values())
    for entry in lock["pypi"]:
        paths.append(entry["zip"])
    return paths


def is_current(lock, digest):
    if not STAMP.exists():
        return False
    try:
        stamp = json.loads(STAMP.read_text())
    except ValueError:
        return False
    if stamp.get("lock") != digest:
        return False
    return all((VENDOR / p).exists() for p in outputs(lock))


def run(cmd, what):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise VendorError(f"cannot fetch {what}: `{cmd[0]}` is not installed")
    except subprocess.TimeoutExpired:
        raise VendorError(f"cannot fetch {what}: the registry did not answer in 10 minutes")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise VendorError(f"cannot fetch {what} (is the registry reachable?): {last}")
    return proc


def fetch_npm(entry):
    """npm pack NAME@VERSION into the cache; returns the tarball path."""
    what = f"{entry['name']}@{entry['version']} from the npm registry"
    tarball = CACHE / (entry["name"].lstrip("@").replace("/", "-") + f"-{entry['version']}.tgz")
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            proc = run(["npm", "pack", "--silent", "--pack-destination", tmp,
                        f"{entry['name']}@{entry['version']}"], what)
            made = Path(tmp) / proc.stdout.strip().splitlines()[-1]
            shutil.move(made, tarball)
    algo, _, expected = entry["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if actual != expected:
        tarball.unlink()
        raise VendorError(f"hash mismatch for {entry['name']}@{entry['version']}: "
                          f"expected {algo}-{expected}, got {algo}-{actual}")
    return tarball


def fetch_pypi(entry):
    """pip download NAME==VERSION (no dependencies) into the cache."""
    what = f"{entry['name']}=={entry['version']} from PyPI"
    archive = CACHE / entry["file"]
    if not archive.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                 "-d", tmp, f"{entry['name']}=={entry['version']}"], what)
            made = Path(tmp) / entry["file"]
            if not made.exists():
                raise VendorError(f"pip did not produce {entry['file']} for {what}")
            shutil.move(made, archive)
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    if actual != entry["sha256"]:
        archive.unlink()
        raise VendorError(f"hash mismatch for {entry['name']}=={entry['version']}: "
                          f"expected sha256 {entry['sha256']}, got {actual}")
    return archive


def unpack_npm(entry, tarball):
    """Copy the listed files (or directories, ending in /) out of package/."""
    with tarfile.open(tarball) as tar:
        members = {m.name[len("package/"):]: m for m in tar.getmembers()
                   if m.isfile() and m.name.startswith("package/")}
        for src, dest in entry["files"].items():
            chosen = {name: m for name, m in members.items()
                      if name == src or (src.endswith("/") and name.startswith(src))}
            if not chosen:
                raise VendorError(f"{entry['name']}@{entry['version']} has no {src}")
            target = VENDOR / dest
            if dest.endswith("/"):
                shutil.rmtree(target, ignore_errors=True)
            for name, member in chosen.items():
                out = target / name[len(src):] if dest.endswith("/") else target
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(member).read())


def archive_files(archive):
    """(name, bytes) for every file of a wheel or an sdist."""
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not name.endswith("/"):
                    yield name, zf.read(name)
    else:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    yield member.name, tar.extractfile(member).read()


def pack_python(entry, archive):
    """Zip one importable package for PyScript's [files] (unpacked at the site root)."""
    prefix = entry["package_dir"]
    top = prefix.rstrip("/").rsplit("/", 1)[-1]
    files = sorted(
        (top + "/" + name[len(prefix):], data)
        for name, data in archive_files(archive)
        if name.startswith(prefix) and not any(name.startswith(x) for x in entry["exclude"])
        and "__pycache__" not in name)
    if not files:
        raise VendorError(f"{entry['name']}=={entry['version']} has no {prefix}")
    write_zip(VENDOR / entry["zip"], files)


def write_zip(path, files, compression=zipfile.ZIP_DEFLATED):
    """Write a deterministic zip; leave the file alone if the bytes would not change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression) as zf:
        for name, data in files:
            zf.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, compression)
    if path.exists() and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
        return False
    tmp.replace(path)
    return True


def vendor(force=False, log=print):
    lock_bytes = LOCK.read_bytes()
    lock = json.loads(lock_bytes)
    digest = lock_digest(lock_bytes + Path(stdlib.__file__).read_bytes())  # what the stdlib keeps, too
    if not force and is_current(lock, digest):
        return False
    for entry in lock["npm"]:
        log(f"vendor: {entry['name']}@{entry['version']} (npm)")
        unpack_npm(entry, fetch_npm(entry))
        if entry["name"] == "pyodide":  # its standard library as the page should fetch it (tools/stdlib.py)
            library = VENDOR / entry["files"]["python_stdlib.zip"]
            write_zip(library, stdlib.browser_files(library), zipfile.ZIP_STORED)
    for entry in lock["pypi"]:
        log(f"vendor: {entry['name']}=={entry['version']} (PyPI)")
        pack_python(entry, fetch_pypi(entry))
    STAMP.write_text(json.dumps({"lock": digest}) + "\n")
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="vendor again even if up to date")
    args = parser.parse_args(argv)
    try:
        changed = vendor(force=args.force)
    except VendorError as e:
        print(f"vendor: error: {e}", file=sys.stderr)
        return 1
    from offline import write_manifest
    from pack_app import pack_app  # the app's own zip, for static hosting
    from snapshot import build_snapshot  # a snapshot of the old runtime would not start the new one

    pack_app()
    if changed:
        build_snapshot()
    write_manifest()
    print("vendor: done" if changed else "vendor: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
