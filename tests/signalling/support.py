"""Helpers for the signalling tests: servers on free ports and a raw PeerJS socket client."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from streamium_server.signalling import make_signalling_app

ROOT = Path(__file__).resolve().parents[2]
PEER_VERSION = "1.0.2"
PEER_CACHE = ROOT / ".cache" / "peer-server"  # git-ignored (.cache/)
PEER_BIN = PEER_CACHE / "node_modules" / "peer" / "dist" / "bin" / "peerjs.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Endpoint:
    """A signalling server mounted at ``/peerjs`` on 127.0.0.1:``port``."""

    name: str
    port: int
    path: str = "/peerjs"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def ws_url(self, **query: str) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}/peerjs?{urlencode(query)}"


# -- our server ---------------------------------------------------------------


@asynccontextmanager
async def serve_app(app: web.Application, port: int = 0) -> AsyncIterator[int]:
    """Run ``app`` on the current loop; yields the port."""
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def signalling_root(**options: Any) -> tuple[web.Application, web.Application]:
    """A root app with our signalling mounted at /peerjs, as serve.py does."""
    root = web.Application()
    sub = make_signalling_app(**options)
    root.add_subapp("/peerjs", sub)
    return root, sub


@contextmanager
def app_in_thread(app: web.Application) -> Iterator[int]:
    """Serve ``app`` from a private event loop in a thread; yields the port."""
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with serve_app(app, port):
            ready.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "signalling server did not start"
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()


# -- the official server ------------------------------------------------------


def install_official_peer() -> Path:
    """``npm install`` peer@1.0.2 into the git-ignored cache once."""
    manifest = PEER_CACHE / "node_modules" / "peer" / "package.json"
    if not (manifest.exists() and json.loads(manifest.read_text())["version"] == PEER_VERSION):
        npm = shutil.which("npm")
        assert npm, "npm is needed to install the official peer server"
        PEER_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(PEER_CACHE), "--no-audit", "--no-fund", f"peer@{PEER_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )
    return PEER_BIN


@contextmanager
def official_peer(**cli_options: Any) -> Iterator[Endpoint]:
    """Run ``peer`` 1.0.2's own CLI on a free port with ``--path /peerjs``."""
    node = shutil.which("node")
    assert node, "node is needed to run the official peer server"
    bin_path = install_official_peer()
    port = free_port()
    args = [node, str(bin_path), "--host", "127.0.0.1", "--port", str(port), "--path", "/peerjs"]
    for name, value in cli_options.items():
        args += [f"--{name}", str(value)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = Endpoint("official", port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(endpoint.http + "/", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, f"peer server exited with {proc.returncode}"
                assert time.monotonic() < deadline, "peer server did not start"
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- a raw PeerJS socket ----------------------------------------------------------


class RawPeer:
    """One signalling WebSocket, spoken to in raw JSON like the peerjs client does."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self._heartbeat: asyncio.Task[None] | None = None

    def start_heartbeat(self, interval_s: float = 0.25) -> None:
        """Send HEARTBEAT regularly, as the peerjs client does every 5 s."""

        async def beat() -> None:
            while not self.ws.closed:
                try:
                    await self.send(type="HEARTBEAT")
                except ConnectionError:
                    return  # the server closed us; the test will notice
                await asyncio.sleep(interval_s)

        self._heartbeat = asyncio.get_running_loop().create_task(beat())

    async def recv_text(self, timeout: float = 3) -> str:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a message, got {msg}"
        return msg.data

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        return json.loads(await self.recv_text(timeout))

    async def send(self, **message: Any) -> None:
        await self.ws.send_str(json.dumps(message))

    async def expect_silence(self, seconds: float = 0.3) -> None:
        """Nothing arrives and the socket stays open for ``seconds``."""
        try:
            msg = await self.ws.receive(timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected {msg}")

    async def expect_closed(self, timeout: float = 3) -> None:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING), msg

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        await self.ws.close()


async def connect(session: aiohttp.ClientSession, endpoint: Endpoint, **query: str) -> RawPeer:
    """Open a socket with the given query (``id``, ``token``, ``key``), expecting nothing."""
    return RawPeer(await session.ws_connect(endpoint.ws_url(**query), autoping=True))


async def join(
    session: aiohttp.ClientSession, endpoint: Endpoint, peer_id: str, token: str = "tok", *, heartbeat: bool = True,
) -> RawPeer:
    """Register ``peer_id``, check the server says OPEN, and keep it alive unless told not to."""
    peer = await connect(session, endpoint, key="peerjs", id=peer_id, token=token)
    assert await peer.recv_text() == '{"type":"OPEN"}'
    if heartbeat:
        peer.start_heartbeat()
    return peer
