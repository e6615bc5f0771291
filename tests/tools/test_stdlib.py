"""The standard library the page fetches (tools/stdlib.py): stored whole for brotli, and
without modules a browser tab cannot run, none of which the browser's Python imports."""

import re
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))
import stdlib  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
LIBRARY = ROOT / "assets" / "vendor" / "pyodide" / "python_stdlib.zip"
PACKAGES = [ROOT / "assets" / "vendor" / "python" / name for name in ("embit.zip", "segno.zip")]

# Imports of left-out modules that the closure reaches, each inside a function for a feature
# no page has. Any other one fails the test: keep the module, or explain it here.
EXPLAINED = {
    ("doctest", "heapq"): "only when heapq runs as a script",
    ("ftplib", "urllib.request"): "ftp:// URLs; a page has no sockets",
    ("multiprocessing", "concurrent.futures.process"): "ProcessPoolExecutor; a page has no processes",
    ("py_compile", "zipfile"): "PyZipFile.writepy, a packaging tool",
    ("_pyrepl", "site"): "the line editor of an interactive prompt (sys.__interactivehook__)",
    ("pydoc", "_sitebuiltins"): "help() at a prompt",
    ("webbrowser", "segno"): "segno's show(), which opens a desktop browser",
}

# `import a.b as c, d` and `from .x import (y, z)`, also in Python newer than the one testing
# (Pyodide's 3.14 syntax does not parse here, its import statements do).
IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))",
                    re.M)


def imported(source: str, module: str, package: bool) -> set:
    """Every module name `source` (the module `module`) may import, submodules included."""
    names = set()
    for base, what, plain in IMPORT.findall(source):
        if plain:
            names.update(part.split()[0] for part in plain.split(",") if part.split())
            continue
        dots = len(base) - len(base.lstrip("."))
        if dots:
            parts = module.split(".") if package else module.split(".")[:-1]
            base = ".".join(parts[:len(parts) - dots + 1] + ([base.lstrip(".")] if base.lstrip(".") else []))
        names.add(base)
        names.update(f"{base}.{part.split()[0]}" for part in what.strip("()").split(",") if part.split())
    return names


def python_files(files: dict):
    """(module, source, is a package) of each .py in `files` (name -> bytes)."""
    for name, data in files.items():
        if name.endswith(".py"):
            module = name[:-3].replace("/", ".").removesuffix(".__init__")
            yield module, data.decode("utf-8", "replace"), name.endswith("/__init__.py")


def zip_files(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_library_is_stored_and_leaves_out_what_a_page_cannot_run():
    with zipfile.ZipFile(LIBRARY) as z:
        infos = z.infolist()
    assert len(infos) > 400 and all(info.compress_type == zipfile.ZIP_STORED for info in infos)
    kept = {stdlib.top_level(info.filename) for info in infos}
    assert not kept & stdlib.NOT_IN_A_BROWSER
    assert {"asyncio", "json", "encodings", "hashlib", "pyodide", "_pyodide"} <= kept


def test_nothing_the_browser_imports_was_left_out():
    library = zip_files(LIBRARY)
    modules = {module: (source, package) for module, source, package in python_files(library)}
    sources = [(str(p.relative_to(ROOT).with_suffix("")).replace("/", "."), p.read_text(), p.name == "__init__.py")
               for p in (ROOT / "app").rglob("*.py")]
    for path in PACKAGES:
        sources += python_files(zip_files(path))
    sources += [(m, s, pkg) for m, (s, pkg) in modules.items() if m.split(".")[0] in ("pyodide", "_pyodide")]
    wanted = [(name, module.split(".")[0] if module.startswith(("embit", "segno")) else module)
              for module, source, package in sources for name in imported(source, module, package)]
    wanted += [(name, "start-up") for name in ("site", "encodings", "asyncio", "zipimport")]
    seen, missing = set(), set()
    while wanted:
        name, importer = wanted.pop()
        if name.split(".")[0] in stdlib.NOT_IN_A_BROWSER:
            missing.add((name.split(".")[0], importer))
            continue
        for candidate in (name, name.rsplit(".", 1)[0]):  # `from x import y`: y may be a name in x
            if candidate in modules and candidate not in seen:
                seen.add(candidate)
                source, package = modules[candidate]
                parent = candidate.rsplit(".", 1)[0]
                wanted += [(parent, candidate)] if parent != candidate else []
                wanted += [(n, candidate) for n in imported(source, candidate, package)]
    assert len(seen) > 150, "the closure found the library"
    assert missing == set(EXPLAINED), {pair: EXPLAINED.get(pair, "NOT EXPLAINED") for pair in missing ^ set(EXPLAINED)}
