"""The offline copy's manifest names every file the page fetches from its own origin, and
nothing the page never fetches; serve.py serves the worker itself, revalidated on each load."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamium_server.app import ServerOptions, make_app

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # as tools/bootstrap.py runs them
import offline  # noqa: E402
import runtime_dir  # noqa: E402


def test_the_manifest_holds_what_the_page_fetches_and_nothing_it_does_not():
    listed = set(offline.write_manifest()["files"])
    html = (ROOT / "index.html").read_text()
    fetched = {"./" + link for link in re.findall(r'(?:href|src)="\./([^"#]+)"', html) if not link.endswith("/")}
    fetched |= {f for f in tomllib.loads((ROOT / "pyscript.toml").read_text())["files"]}
    fetched.add("./pyscript.toml")
    assert fetched - listed == set(), "the page fetches these, the copy lacks them"
    runtime = "./" + runtime_dir.build_runtime_dir().relative_to(ROOT).as_posix()
    assert {"./", "./assets/build/runtime.mjs", f"{runtime}/pyodide.asm.wasm", f"{runtime}/pyodide.snapshot.0"} <= listed
    assert not [f for f in listed if f.startswith(("./assets/vendor/pyodide/", "./assets/build/pyodide.snapshot"))]
    assert not [f for f in listed if f.endswith((".gz", ".br")) or "axe-core" in f or f.endswith("offline.json")]


@pytest.mark.parametrize("path", ["/sw.js", "/assets/build/offline.json"])
async def test_the_worker_and_its_manifest_are_served_and_revalidated(path):
    offline.write_manifest()
    async with TestClient(TestServer(make_app(ServerOptions(root=ROOT, network="signet", devnet=False,
                                                            peer={"host": "p.example", "port": 443, "path": "/",
                                                                  "key": "peerjs", "secure": True})))) as client:
        answer = await client.get(path)
        assert answer.status == 200 and answer.headers["Cache-Control"] == "no-cache"
