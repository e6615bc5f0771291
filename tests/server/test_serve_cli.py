"""serve.py fails with one clear line, and a non-zero exit, on what a user can get wrong."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def serve(*args, timeout=60):
    return subprocess.run([sys.executable, str(ROOT / "serve.py"), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_a_port_in_use_is_one_line_saying_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = serve("--port", str(port), "--no-devnet", "--esplora", "http://127.0.0.1:1/api",
                    "--peer-host", "127.0.0.1")
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert lines == [f"serve.py: error: port {port} on 127.0.0.1 is in use: stop the other server or pass --port N"]


@pytest.mark.parametrize("args, message", [
    (["--network", "mainnet"], "add --allow-mainnet"),
    (["--ice-server", "http://not-ice"], "is not stun:HOST"),
    (["--ice-server", "turn:nopass@host:3478"], "credentials must be USER:PASS@"),
    (["--no-devnet"], "regtest without the devnet needs --esplora"),
    (["--port", "70000"], "is not a port number"),
    (["--sfu", "janus", "--sfu-url", "ws://relay.example:8188/"], "pass one of them"),
    (["--sfu-url", "https://relay.example/"], "is not a ws:// or wss:// URL"),
    (["--sfu", "janus", "--sfu-interface", 'v0"; x = "'], "is not a network interface's name"),
    (["--sfu-interface", "v0"], "--sfu-interface is for --sfu janus"),
])
def test_a_bad_flag_is_one_clear_line(args, message):
    run = serve(*args)
    assert run.returncode != 0
    assert len(run.stderr.strip().splitlines()) == 1
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_help_lists_every_flag():
    run = serve("--help")
    for flag in ["--host", "--port", "--network", "--esplora", "--peer-host", "--peer-port", "--peer-path",
                 "--peer-key", "--peer-secure", "--ice-server", "--no-devnet", "--block-interval",
                 "--data-dir", "--reset", "--allow-mainnet", "--sfu", "--sfu-port", "--sfu-url",
                 "--sfu-interface"]:
        assert flag in run.stdout


def config_for(*args):
    from streamium_server.cli import options_from_args, parse_args
    return options_from_args(parse_args(list(args))).config()


def test_default_config_is_regtest_with_the_devnet_and_builtin_signalling():
    config = config_for()
    assert (config["network"], config["esplora"], config["devnet"]) == ("regtest", "/api", True)
    assert config["peer"] == {"host": None, "port": None, "path": "/peerjs", "key": "peerjs", "secure": None}


def test_config_reflects_an_external_esplora_peer_server_and_ice_servers():
    config = config_for("--network", "signet", "--esplora", "https://mempool.space/signet/api",
                        "--peer-host", "peer.example.org", "--peer-port", "9443", "--peer-path", "/signal",
                        "--peer-key", "k", "--peer-secure",
                        "--ice-server", "stun:stun.example.org:3478",
                        "--ice-server", "turn:alice:s3cret@turn.example.org:3478")
    assert config["esplora"] == "https://mempool.space/signet/api" and config["devnet"] is False
    assert config["explorer"] == "https://mempool.space/signet"
    assert config["peer"] == {"host": "peer.example.org", "port": 9443, "path": "/signal", "key": "k",
                              "secure": True}
    assert config["ice_servers"] == [
        {"urls": "stun:stun.example.org:3478"},
        {"urls": "turn:turn.example.org:3478", "username": "alice", "credential": "s3cret"}]


def test_an_esplora_on_regtest_replaces_the_devnet():
    config = config_for("--esplora", "http://127.0.0.1:3002")
    assert config["devnet"] is False and config["esplora"] == "http://127.0.0.1:3002"


def test_video_goes_browser_to_browser_unless_a_relay_is_named():
    assert config_for()["sfu"] is None
    assert config_for("--sfu-url", "wss://relay.example/janus")["sfu"] == {
        "kind": "janus", "host": "relay.example", "port": 443, "path": "/janus", "secure": True}


def test_mainnet_needs_its_flag_and_is_marked_in_the_config():
    assert config_for("--network", "mainnet", "--allow-mainnet")["mainnet"] is True
