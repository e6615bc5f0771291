"""serve.py serves the app with the right types and caching, and nothing else of the folder."""

import asyncio
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamium_server.app import ServerOptions, make_app
from streamium_server.static import resolve_public

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # as tools/bootstrap.py runs them
import runtime_dir  # noqa: E402
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


def runtime_file(name):
    """`name` in this build's runtime folder, as the page asks for it."""
    return "/" + (runtime_dir.build_runtime_dir() / name).relative_to(ROOT).as_posix()


async def test_files_named_by_their_contents_are_kept_for_a_year_and_fixed_names_are_revalidated(client):
    for path in (runtime_file("pyodide.asm.wasm"), "/assets/vendor/pyscript/core-C9KDLldu.js"):
        kept = await client.get(path)
        assert kept.status == 200 and kept.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
    for path in ("/", "/assets/build/runtime.mjs", "/assets/build/app.zip", "/assets/vendor/peerjs/peerjs.min.js",
                 "/assets/vendor/pyscript/core.js", "/assets/vendor/pyodide/pyodide.asm.wasm"):
        answer = await client.get(path)
        assert answer.status == 200 and answer.headers["Cache-Control"] == "no-cache", path
        again = await client.get(path, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status == 304, path


def test_the_runtime_folder_is_named_by_its_contents_and_holds_what_the_page_asks_for():
    folder = runtime_dir.build_runtime_dir()
    assert folder.name == runtime_dir.digest(runtime_dir.sources())
    for source in runtime_dir.sources():
        assert (folder / source.name).read_bytes() == source.read_bytes()
    assert f'"./runtime/{folder.name}/"' in (ROOT / "assets/build/runtime.mjs").read_text()
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # older builds' folders are gone


async def test_one_connection_carries_request_after_request(client):
    """HTTP/1.1 keep-alive (aiohttp's server has no HTTP/2): the browser need not reconnect per file."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        for path in ("/assets/css/app.css", "/assets/js/boot.js", "/"):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
            assert head.startswith("http/1.1 200") and "connection: close" not in head, path
            length = int(head.split("content-length: ")[1].split("\r\n")[0])
            await reader.readexactly(length)
    finally:
        writer.close()


async def test_the_big_runtime_files_go_out_gzipped_when_the_browser_accepts_it(client):
    if not (ROOT / "assets/vendor/pyodide/pyodide.asm.wasm.gz").exists():
        pytest.skip("tools/snapshot.py has not precompressed the runtime")
    path = runtime_file("pyodide.asm.wasm")
    packed = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.content_type == "application/wasm"
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await packed.read() == await plain.read() == (ROOT / path.lstrip("/")).read_bytes()


async def test_the_big_runtime_files_go_out_as_brotli_where_the_browser_accepts_it(client):
    if not (ROOT / "assets/build/pyodide.snapshot.0.br").exists():
        pytest.skip("tools/snapshot.py has not precompressed the runtime")
    path = runtime_file("pyodide.snapshot.0")
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
    assert set(build) <= {"assets/build/app.zip", "assets/build/runtime.mjs"}  # made by tools/bootstrap.py


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
