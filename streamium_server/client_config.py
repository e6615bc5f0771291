"""The runtime configuration the page reads from /config.json.

One shape serves every deployment: serve.py writes it from its flags (devnet,
built-in signalling), and the committed config.json carries the same shape
pointing at public signet services for a plain static host. A `null` host or
port means "the page's own origin", so the config does not depend on the
address the server was reached by.
"""

from urllib.parse import urlsplit

from app.channel.messages import NETWORKS  # the networks the page's channel core accepts

PEERJS_CLOUD = {"host": "0.peerjs.com", "port": 443, "path": "/", "key": "peerjs", "secure": True}

EXPLORERS = {
    "signet": "https://mempool.space/signet",
    "testnet4": "https://mempool.space/testnet4",
    "mainnet": "https://mempool.space",
}


BURIED_CONFIRMATIONS = 6  # protocol v2 §C; a devnet may ask for fewer


def client_config(*, network, esplora, explorer, peer, ice_servers, devnet, buried=BURIED_CONFIRMATIONS,
                  sfu=None):
    """The JSON object served as /config.json (`sfu`: the media relay, None for browser to browser)."""
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}")
    return {
        "version": 1,
        "network": network,
        "esplora": esplora,
        "explorer": explorer,
        "peer": dict(peer),
        "ice_servers": list(ice_servers),
        "devnet": bool(devnet),
        "mainnet": network == "mainnet",
        "buried_confirmations": buried,
        "sfu": dict(sfu) if sfu else None,
    }


def parse_websocket_url(url: str) -> dict:
    """host, port, path and secure of a ws:// or wss:// URL, as /config.json names a server."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{url!r} is not a ws:// or wss:// URL")
    secure = parts.scheme == "wss"
    return {"host": parts.hostname, "port": parts.port or (443 if secure else 80), "path": parts.path or "/",
            "secure": secure}


def parse_ice_server(url):
    """`stun:host:port` or `turn:user:pass@host:port` (also turns:) to an RTCIceServer dict."""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme not in ("stun", "turn", "turns") or not rest:
        raise ValueError(f"ICE server {url!r} is not stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT]")
    if scheme == "stun":
        return {"urls": url}
    creds, at, hostport = rest.rpartition("@")
    if not at:
        return {"urls": url}
    user, colon, password = creds.partition(":")
    if not colon or not user:
        raise ValueError(f"TURN server {url!r}: credentials must be USER:PASS@")
    return {"urls": f"{scheme}:{hostport}", "username": user, "credential": password}
