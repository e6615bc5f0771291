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
                 "--data-dir", "--reset", "--allow-mainnet"]:
        assert flag in run.stdout
