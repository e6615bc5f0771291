"""Pyodide's standard library as the page fetches it: stored, not deflated, and without what a
browser tab can never run.

Pyodide ships python_stdlib.zip with each file deflated on its own: 2.4 MiB, on which gzip
and brotli gain nothing. Stored, the same files are one stream that brotli (tools/snapshot.py
writes the `.br` twin) takes to 1.2 MiB, since it sees the whole library at once; the
browser undoes it while it downloads, and zipimport reads stored files without inflating them.

Left out: modules that need what a page does not have (processes, a terminal, sockets to
listen on or mail servers to dial) or that are tools for a developer at a prompt (debuggers,
profilers, test runners, documentation browsers). tests/tools/test_stdlib.py checks that
nothing the browser's Python imports, however deep, is among them.
"""

import zipfile
from pathlib import Path

NOT_IN_A_BROWSER = frozenset({
    # no processes, no terminal
    "multiprocessing", "_pyrepl", "pty", "tty",
    # a developer's tools at a prompt
    "pdb", "bdb", "doctest", "pydoc", "unittest", "cProfile", "profile", "pstats", "trace", "timeit",
    "tabnanny", "pyclbr", "modulefinder", "compileall", "py_compile", "zipapp",
    # servers and mail clients: a page can neither listen on a socket nor dial one
    "ftplib", "poplib", "imaplib", "smtplib", "socketserver", "wsgiref", "xmlrpc",
    # toys and a browser launcher
    "antigravity", "this", "__hello__", "__phello__", "webbrowser",
})


def top_level(name: str) -> str:
    """The module or package a zip entry belongs to: `email/mime/text.py` -> `email`."""
    return name.split("/")[0].removesuffix(".py")


def browser_files(path: Path) -> list:
    """(name, bytes) of each entry of Pyodide's zip at `path` that a page may import."""
    with zipfile.ZipFile(path) as source:
        return [(info.filename, source.read(info)) for info in source.infolist()
                if top_level(info.filename) not in NOT_IN_A_BROWSER and not info.is_dir()]
