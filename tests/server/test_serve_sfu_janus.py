"""serve.py --sfu janus: a real Janus (Debian's) started with serve.py and stopped with it, on
loopback, with its own secrets, only the VideoRoom plugin, and /config.json naming where it
listens, never how to administer it."""

import asyncio
import json
import signal
import socket
import stat
import time
import urllib.request

import aiohttp
import pytest

from streamium_server.janus import server_info
from tests.conftest import ServerProcess, free_port


async def admin(url, request, secret=None):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.ws_connect(url, protocols=("janus-admin-protocol",)) as ws:
        await ws.send_json({"janus": request, "transaction": "t", **({"admin_secret": secret} if secret else {})})
        return await ws.receive_json(timeout=5)


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def janus_server(tmp_path):
    port = free_port()
    server = ServerProcess("--no-devnet", "--esplora", "http://127.0.0.1:1/api", "--sfu", "janus",
                           "--sfu-port", str(port), data_dir=tmp_path / "data").start()
    yield server, port
    server.stop()


def test_serve_starts_janus_with_its_own_secrets_and_names_it_in_the_config(janus_server, tmp_path):
    server, port = janus_server
    with urllib.request.urlopen(server.url + "/config.json") as answer:
        raw = answer.read()
    config = json.loads(raw)
    assert config["sfu"] == {"kind": "janus", "host": None, "port": port, "path": "/", "secure": False}
    keys_file = tmp_path / "data" / "janus" / "secrets.json"
    keys = json.loads(keys_file.read_text())
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_file.parent.stat().st_mode) == 0o700
    assert keys["admin_secret"] not in raw.decode() and keys["room_admin_key"] not in raw.decode()
    assert keys["admin_secret"] != "janusoverlord", "never the package's well-known secret"

    async def check():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            info = await server_info(f"ws://127.0.0.1:{port}/", session)
        assert list(info["plugins"]) == ["janus.plugin.videoroom"]
        assert list(info["transports"]) == ["janus.transport.websockets"]
        admin_url = f"ws://127.0.0.1:{port + 1}/"
        assert (await admin(admin_url, "list_sessions"))["janus"] == "error"  # no secret, no admin
        assert (await admin(admin_url, "list_sessions", keys["admin_secret"]))["janus"] == "success"
    asyncio.run(check())


def test_janus_stops_with_serve_py_even_when_it_is_killed(janus_server):
    server, port = janus_server
    assert listening(port)
    server.proc.send_signal(signal.SIGKILL)  # no cleanup runs: Linux tells Janus its parent is gone
    server.proc.wait(10)
    for _ in range(100):
        if not listening(port):
            break
        time.sleep(0.1)
    assert not listening(port)
