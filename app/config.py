"""The page's runtime configuration (/config.json), checked before use.

The file comes from whatever server hosts the page, so it is validated like any
other outside input: a bad value stops the app with a clear message instead of
sending money or video somewhere unexpected.
"""

import re
from dataclasses import dataclass

from app.channel.messages import NETWORKS
from app.channel.states import BURIED_CONFIRMATIONS


RELAY_HOST = re.compile(r"[A-Za-z0-9.\-:]{1,253}")
RELAY_PATH = re.compile(r"/[\x21-\x7e]{0,200}")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class PeerServer:
    host: str | None      # None: the page's own host
    port: int | None      # None: the page's own port
    path: str
    key: str
    secure: bool | None   # None: the page's own scheme

    def resolve(self, location_host: str, location_port: str, location_protocol: str) -> dict:
        """PeerJS options with an explicit host, port and secure flag."""
        secure = (location_protocol == "https:") if self.secure is None else self.secure
        port = self.port
        if port is None:
            port = int(location_port) if location_port else (443 if secure else 80)
        return {"host": self.host or location_host, "port": port, "path": self.path,
                "key": self.key, "secure": secure}


@dataclass(frozen=True)
class RelayServer:
    """A Janus WebSocket API that relays the video (issue 15); None fields: the page's own."""

    host: str | None
    port: int
    path: str
    secure: bool

    def url(self, location_host: str) -> str:
        scheme = "wss" if self.secure else "ws"
        host = self.host or location_host
        return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{self.port}{self.path}"


@dataclass(frozen=True)
class ClientConfig:
    network: str
    esplora: str
    explorer: str
    peer: PeerServer
    ice_servers: tuple
    devnet: bool
    mainnet: bool
    buried_confirmations: int  # a closing transaction this deep is final (v2 §C)
    sfu: RelayServer | None = None  # None: the video goes browser to browser


def _str(obj, key, *, optional=False):
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config.json: {key} must be a non-empty string")
    return value


def _bool(obj, key, *, optional=False):
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise ConfigError(f"config.json: {key} must be true or false")
    return value


def _url(obj, key):
    value = _str(obj, key)
    if not (value.startswith(("https://", "http://")) or value.startswith("/")):
        raise ConfigError(f"config.json: {key} must be an http(s) URL or a path on this server")
    return value.rstrip("/")


def _relay(sfu) -> RelayServer | None:
    if sfu is None:
        return None
    if not isinstance(sfu, dict) or sfu.get("kind") != "janus":
        raise ConfigError("config.json: sfu must be null or a {kind: \"janus\", ...} object")
    port = sfu.get("port")
    if type(port) is not int or not 0 < port < 65536:
        raise ConfigError("config.json: sfu.port must be a port number")
    path, host = _str(sfu, "path"), _str(sfu, "host", optional=True)
    if not RELAY_PATH.fullmatch(path):
        raise ConfigError("config.json: sfu.path must start with / and hold no spaces")
    if host is not None and not RELAY_HOST.fullmatch(host):
        raise ConfigError("config.json: sfu.host must be a host name or an IP address")
    return RelayServer(host=host, port=port, path=path, secure=_bool(sfu, "secure"))


def parse_client_config(obj) -> ClientConfig:
    if not isinstance(obj, dict):
        raise ConfigError("config.json must hold a JSON object")
    if obj.get("version") != 1:
        raise ConfigError("config.json: unsupported version (expected 1)")
    network = obj.get("network")
    if network not in NETWORKS:
        raise ConfigError(f"config.json: network must be one of {', '.join(NETWORKS)}")
    peer = obj.get("peer")
    if not isinstance(peer, dict):
        raise ConfigError("config.json: peer must be an object")
    port = peer.get("port")
    if port is not None and (type(port) is not int or not 0 < port < 65536):
        raise ConfigError("config.json: peer.port must be a port number or null")
    path = _str(peer, "path")
    if not path.startswith("/"):
        raise ConfigError("config.json: peer.path must start with /")
    ice = obj.get("ice_servers")
    if not isinstance(ice, list) or not all(isinstance(s, dict) and isinstance(s.get("urls"), (str, list))
                                            for s in ice):
        raise ConfigError("config.json: ice_servers must be a list of {urls: ...} objects")
    mainnet = _bool(obj, "mainnet")
    if mainnet != (network == "mainnet"):
        raise ConfigError("config.json: mainnet must be true exactly when network is mainnet")
    devnet = _bool(obj, "devnet")
    if devnet and network != "regtest":
        raise ConfigError("config.json: a devnet exists only on regtest")
    buried = obj.get("buried_confirmations", BURIED_CONFIRMATIONS)
    if type(buried) is not int or not 1 <= buried <= 100 or (buried < BURIED_CONFIRMATIONS and network != "regtest"):
        raise ConfigError("config.json: buried_confirmations must be 1 to 100, and at least 6 off regtest")
    return ClientConfig(
        sfu=_relay(obj.get("sfu")),
        network=network, esplora=_url(obj, "esplora"), explorer=_url(obj, "explorer"),
        peer=PeerServer(host=_str(peer, "host", optional=True), port=port, path=path,
                        key=_str(peer, "key"), secure=_bool(peer, "secure", optional=True)),
        ice_servers=tuple(ice), devnet=devnet, mainnet=mainnet, buried_confirmations=buried)
