"""Shared test fixtures: Debian's Chromium for pytest-playwright, and serve.py as a real process.

Browser tests never download a browser: they run /usr/bin/chromium (installed by
tools/test.py) with the flags this machine needs, and talk to the real serve.py
(static app, built-in signalling, devnet) started on a free loopback port.
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `python3 tools/test.py`, "
                    "or `apt-get install -y chromium`")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """serve.py (or another server script taking --port and --data-dir) in its own
    process, on a free port, until stop(); ready once `ready_path` answers."""

    def __init__(self, *args, data_dir: Path, startup_timeout=120, script=ROOT / "serve.py",
                 ready_path="/config.json", module=None, data_dir_flag=True, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.script, self.ready_path = Path(module or script), ready_path
        self.command = ["-m", module] if module else [str(self.script)]
        self.args = ["--port", str(self.port), *(["--data-dir", str(data_dir)] if data_dir_flag else []), *args]
        self.log_path = data_dir.parent / f"{self.script.stem}-{self.port}.log"
        self.startup_timeout = startup_timeout
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, *self.command, *self.args],
                                     cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.script.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.script.name} did not answer within {self.startup_timeout}s:\n{self.output()}")

    def output(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The whole local world: app, signalling and a devnet mining a block after each transaction,
    where one confirmation buries a closing transaction (v2 §C lets a devnet lower the six)."""
    data_dir = tmp_path_factory.mktemp("devnet") / "data"
    server = ServerProcess("--block-interval", "0", "--buried", "1", data_dir=data_dir).start()
    yield server
    server.stop()


class RequestLog:
    """Every request and WebSocket a browser context opens, to prove nothing leaves the origin."""

    def __init__(self, origin):
        self.origin = origin
        self.urls = []

    def record(self, url):
        self.urls.append(url)

    def foreign(self):
        own = urlsplit(self.origin)
        return [u for u in self.urls
                if not u.startswith(("data:", "blob:", "about:"))
                and (urlsplit(u).hostname, urlsplit(u).port) != (own.hostname, own.port)]


@pytest.fixture
def request_log(context, live_server):
    log = RequestLog(live_server.url)
    context.on("request", lambda r: log.record(r.url))
    yield log
    assert log.foreign() == [], f"requests left the serving origin: {log.foreign()}"


@pytest.fixture
def app_page(page, live_server, request_log):
    """The app, booted: <body data-app-ready="true">."""
    page.on("websocket", lambda ws: request_log.record(ws.url))
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    return page


def pytest_collection_modifyitems(config, items):
    """Mark browser tests (so `-m "not browser"` runs the fast suite) and run them last.

    Playwright's sync API keeps an event loop running from its first use to the
    end of the session, so asyncio tests must all have run before it starts.
    """
    for item in items:
        if {"page", "browser"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)

