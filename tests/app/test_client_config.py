"""The page refuses a config.json it cannot trust, and accepts both shipped shapes."""

import json
from pathlib import Path

import pytest

from app.config import ConfigError, parse_client_config
from streamium_server.app import ServerOptions

ROOT = Path(__file__).resolve().parent.parent.parent


def test_committed_default_config_points_at_public_signet_services():
    config = parse_client_config(json.loads((ROOT / "config.json").read_text()))
    assert config.network == "signet"
    assert config.esplora == "https://mempool.space/signet/api"
    assert config.peer.host == "0.peerjs.com" and config.peer.secure is True
    assert not config.devnet and not config.mainnet


def test_serve_py_config_uses_the_page_origin_for_signalling():
    config = parse_client_config(ServerOptions(root=ROOT).config())
    assert config.devnet and config.esplora == "/api"
    assert config.peer.resolve("127.0.0.1", "8123", "http:") == {
        "host": "127.0.0.1", "port": 8123, "path": "/peerjs", "key": "peerjs", "secure": False}
    assert config.peer.resolve("example.org", "", "https:")["port"] == 443


RELAY = {"kind": "janus", "host": None, "port": 8188, "path": "/", "secure": False}


def test_a_relay_is_named_by_where_its_websocket_api_listens_and_by_default_there_is_none():
    assert parse_client_config(valid()).sfu is None
    relay = parse_client_config(ServerOptions(root=ROOT, sfu=RELAY).config()).sfu
    assert relay.url("127.0.0.1") == "ws://127.0.0.1:8188/"
    elsewhere = parse_client_config({**valid(), "sfu": {**RELAY, "host": "relay.example", "port": 443,
                                                         "path": "/janus", "secure": True}}).sfu
    assert elsewhere.url("127.0.0.1") == "wss://relay.example:443/janus"


def valid():
    return ServerOptions(root=ROOT).config()


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(version=2), "unsupported version"),
    (lambda c: c.update(network="litecoin"), "network must be one of"),
    (lambda c: c.update(esplora="javascript:alert(1)"), "esplora must be"),
    (lambda c: c["peer"].update(port="8000"), "peer.port"),
    (lambda c: c["peer"].update(port=True), "peer.port"),
    (lambda c: c["peer"].update(path="peerjs"), "peer.path"),
    (lambda c: c.update(ice_servers="stun:x"), "ice_servers"),
    (lambda c: c.update(mainnet=True), "mainnet must be true exactly"),
    (lambda c: c.update(network="signet"), "devnet exists only on regtest"),
    (lambda c: c.update(sfu={"kind": "mediasoup"}), "sfu must be"),
    (lambda c: c.update(sfu={**RELAY, "port": 0}), "sfu.port"),
    (lambda c: c.update(sfu={**RELAY, "host": "relay.example/x?"}), "sfu.host"),
    (lambda c: c.update(sfu={**RELAY, "path": "janus"}), "sfu.path"),
    (lambda c: c.update(sfu={**RELAY, "secure": "yes"}), "secure"),
])
def test_a_bad_config_value_is_refused_with_a_clear_message(mutate, message):
    config = valid()
    mutate(config)
    with pytest.raises(ConfigError, match=message):
        parse_client_config(config)


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(ConfigError):
        parse_client_config([1, 2])
