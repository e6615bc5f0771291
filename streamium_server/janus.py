"""A local Janus WebRTC Server (Meetecho's, Debian's `janus` package) for `serve.py --sfu janus`.

Janus relays a broadcaster's one stream to many viewers; the money never goes through it (the
channels stay browser to browser, docs/scaling.md). This module runs Janus in the foreground
with a configuration of its own in `<data dir>/janus/`, never the package's /etc/janus: its
WebSocket API and Admin API on loopback ports, only the VideoRoom plugin and the WebSocket
transport, and secrets made here (the package's admin secret is a well-known default, and
VideoRoom without an `admin_key` lets anyone create rooms). The secrets stay in that folder
(mode 0600): /config.json names where Janus listens, never how to administer it.
"""

import asyncio
import ctypes
import glob
import json
import secrets
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import aiohttp

KEEP_PLUGINS = {"libjanus_videoroom.so"}
KEEP_TRANSPORTS = {"libjanus_websockets.so"}
PR_SET_PDEATHSIG = 1  # prctl(2)
START_S = 20  # Janus answers `info` within a second here; a slow machine gets this long


class JanusError(RuntimeError):
    """Janus could not be started; said in one line."""


@dataclass
class JanusSecrets:
    admin_secret: str  # the Admin API's
    room_admin_key: str  # VideoRoom's, needed to create rooms

    @classmethod
    def load_or_make(cls, path: Path) -> "JanusSecrets":
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            made = cls(secrets.token_hex(16), secrets.token_hex(16))
            path.write_text(json.dumps(made.__dict__) + "\n")
            path.chmod(0o600)
            return made


def janus_folders() -> Path:
    """Where Debian puts Janus's plugins, transports, event handlers and loggers."""
    found = sorted(glob.glob("/usr/lib/*/janus/plugins"))
    if not found:
        raise JanusError("Janus's plugins are not installed (apt-get install janus)")
    return Path(found[0]).parent


def _disable(folder: Path, keep: set) -> str:
    return ",".join(sorted(p.name for p in folder.glob("*.so") if p.name not in keep))


def write_config(folder: Path, ws_port: int, admin_port: int, keys: JanusSecrets, rtp_ports: str,
                 interface: str | None = None) -> Path:
    """janus.jcfg and the two configurations it loads, in the existing `folder`; the main file's path
    (`interface`: the only one Janus gathers media candidates on; None: every one but loopback)."""
    lib = janus_folders()
    main = folder / "janus.jcfg"
    enforce = f'\n    ice_enforce_list = "{interface}"' if interface else ""
    main.write_text(f'''general: {{
    configs_folder = "{folder}"
    plugins_folder = "{lib / "plugins"}"
    transports_folder = "{lib / "transports"}"
    events_folder = "{lib / "events"}"
    loggers_folder = "{lib / "loggers"}"
    log_to_stdout = true
    debug_level = 3
    admin_secret = "{keys.admin_secret}"
    server_name = "Streamium relay"
    session_timeout = 60
}}
media: {{
    ipv6 = false
    rtp_port_range = "{rtp_ports}"
}}
nat: {{
    ignore_mdns = true{enforce}
}}
plugins: {{
    disable = "{_disable(lib / "plugins", KEEP_PLUGINS)}"
}}
transports: {{
    disable = "{_disable(lib / "transports", KEEP_TRANSPORTS)}"
}}
loggers: {{
    disable = "{_disable(lib / "loggers", set())}"
}}
events: {{
    broadcast = false
    disable = "{_disable(lib / "events", set())}"
}}
''')
    (folder / "janus.transport.websockets.jcfg").write_text(f'''general: {{
    json = "compact"
    ws = true
    ws_port = {ws_port}
    ws_ip = "127.0.0.1"
    wss = false
}}
admin: {{
    admin_ws = true
    admin_ws_port = {admin_port}
    admin_ws_ip = "127.0.0.1"
    admin_wss = false
}}
''')
    (folder / "janus.plugin.videoroom.jcfg").write_text(f'''general: {{
    admin_key = "{keys.room_admin_key}"
    lock_rtp_forward = true
}}
''')
    for path in folder.glob("*.jcfg"):
        path.chmod(0o600)  # they hold the secrets
    return main


async def server_info(url: str, session: aiohttp.ClientSession) -> dict:
    """Janus's `info` answer over its WebSocket API (the `janus-protocol` subprotocol is required;
    `session` bounds the connection's time)."""
    async with session.ws_connect(url, protocols=("janus-protocol",)) as ws:
        await ws.send_json({"janus": "info", "transaction": secrets.token_hex(6)})
        answer = await ws.receive_json(timeout=5)
    if answer.get("janus") != "server_info":
        raise JanusError(f"Janus answered `info` with {answer.get('janus')!r}")
    return answer


class JanusProcess:
    """Janus in the foreground, started and stopped with serve.py."""

    def __init__(self, folder: Path, ws_port: int, admin_port: int, rtp_ports: str = "20000-20999",
                 interface: str | None = None):
        self.folder, self.ws_port, self.admin_port, self.rtp_ports = folder, ws_port, admin_port, rtp_ports
        self.interface = interface
        self.proc = self.room_key = None
        self.log_path = folder / "janus.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"

    async def start(self) -> None:
        binary = shutil.which("janus")
        if binary is None:
            raise JanusError("janus is not installed: run `sudo apt-get install -y janus`, or start serve.py "
                             "without --sfu janus")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)  # its files hold the secrets: nobody else reads them, even while written
        keys = JanusSecrets.load_or_make(self.folder / "secrets.json")
        main = write_config(self.folder, self.ws_port, self.admin_port, keys, self.rtp_ports, self.interface)
        self.room_key = keys.room_admin_key
        log = open(self.log_path, "wb")
        self.proc = await asyncio.create_subprocess_exec(binary, "-C", str(main), "-F", str(self.folder),
                                                         stdout=log, stderr=asyncio.subprocess.STDOUT,
                                                         preexec_fn=_die_with_parent)
        log.close()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            for _ in range(START_S * 10):
                if self.proc.returncode is not None:
                    break
                try:
                    await server_info(self.url, session)
                    return
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    await asyncio.sleep(0.1)
        last = self.log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        await self.stop()
        raise JanusError(f"Janus did not answer on {self.url} ({last[0][:200]}); its log: {self.log_path}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def _die_with_parent() -> None:
    """In Janus's process, before it runs: Linux sends it SIGTERM when serve.py is gone, killed or not,
    so no Janus is left holding the ports."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
