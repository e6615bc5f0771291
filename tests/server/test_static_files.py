"""serve.py serves the app with the right types and caching, and nothing else of the folder."""

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamium_server.app import ServerOptions, make_app
from streamium_server.static import resolve_public

ROOT = Path(__file__).resolve().parent.parent.parent
EXTERNAL = dict(network="signet", devnet=False, peer={"host": "peer.example", "port": 443, "path": "/",
                                                      "key": "peerjs", "secure": True})


@pytest.fixture
async def client():
    async with TestClient(TestServer(make_app(ServerOptions(root=ROOT, **EXTERNAL)))) as c:
        yield c


@pytest.mark.parametrize("path, content_type", [
    ("/", "text/html"),
    ("/assets/vendor/pyodide/pyodide.asm.wasm", "application/wasm"),
    ("/assets/vendor/pyodide/pyodide.mjs", "text/javascript"),
    ("/assets/vendor/pyscript/core.js", "text/javascript"),
    ("/assets/css/app.css", "text/css"),
    ("/pyscript.toml", "text/plain"),
])
async def test_public_files_are_served_with_their_content_type(client, path, content_type):
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == content_type


async def test_vendored_files_are_cached_and_the_app_is_revalidated(client):
    vendored = await client.get("/assets/vendor/peerjs/peerjs.min.js")
    assert vendored.headers["Cache-Control"] == "public, max-age=86400"
    page = await client.get("/")
    assert page.headers["Cache-Control"] == "no-cache"
    again = await client.get("/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status == 304


async def test_the_big_runtime_files_go_out_gzipped_when_the_browser_accepts_it(client):
    if not (ROOT / "assets/vendor/pyodide/pyodide.asm.wasm.gz").exists():
        pytest.skip("tools/snapshot.py has not precompressed the runtime")
    path = "/assets/vendor/pyodide/pyodide.asm.wasm"
    packed = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.content_type == "application/wasm"
    assert packed.headers["Cache-Control"] == "public, max-age=86400"
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await packed.read() == await plain.read() == (ROOT / path.lstrip("/")).read_bytes()


async def test_the_big_runtime_files_go_out_as_brotli_where_the_browser_accepts_it(client):
    if not (ROOT / "assets/build/pyodide.snapshot.0.br").exists():
        pytest.skip("tools/snapshot.py has not precompressed the runtime")
    path = "/assets/build/pyodide.snapshot.0"
    packed = await client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})  # Chromium's
    assert packed.headers["Content-Encoding"] == "br"
    assert int(packed.headers["Content-Length"]) < 0.8 * (ROOT / path.lstrip("/")).with_suffix(".0.gz").stat().st_size
    assert await packed.read() == (ROOT / path.lstrip("/")).read_bytes()  # aiohttp's client undoes br


def test_every_file_the_page_preloads_exists():
    # index.html names PyScript's hashed chunks: a new PyScript version must update them
    import re
    html = (ROOT / "index.html").read_text()
    links = re.findall(r'<link rel="(?:module)?preload" href="\./([^"]+)"', html)
    assert len(links) > 10
    build = [link for link in links if link.startswith("assets/build/")]
    missing = [link for link in links if link not in build and not (ROOT / link).is_file()]
    assert missing == []
    assert set(build) <= {"assets/build/app.zip", "assets/build/pyodide.snapshot.0",
                          "assets/build/pyodide.snapshot.1"}


async def test_config_json_reflects_the_server_flags(client):
    config = await (await client.get("/config.json")).json()
    assert config["network"] == "signet" and config["devnet"] is False
    assert config["peer"]["host"] == "peer.example"


@pytest.mark.parametrize("path", [
    "/.git/config", "/.venv/pyvenv.cfg", "/serve.py", "/tests/conftest.py", "/pyproject.toml",
    "/assets/", "/app/", "/assets/vendor", "/assets/../serve.py", "/assets/%2e%2e/serve.py",
    "/app/..%2fserve.py", "/%2Fetc/passwd", "/assets/vendor/.stamp.json", "/nope.html",
])
async def test_nothing_outside_the_public_files_is_served(client, path):
    response = await client.get(path, allow_redirects=False)
    assert response.status == 404


def test_a_symlink_pointing_out_of_the_tree_is_not_served(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "assets" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "assets" / "ok.txt").write_text("ok")
    assert resolve_public(tmp_path, "assets/link.txt") is None
    assert resolve_public(tmp_path, "assets/ok.txt") == (tmp_path / "assets" / "ok.txt").resolve()
    assert resolve_public(tmp_path, "/etc/passwd") is None
    assert resolve_public(tmp_path, "assets/../secret.txt") is None
    assert resolve_public(tmp_path, "assets") is None
