"""A private network namespace for the relay's tests (../shared/design/janus-notes.md).

Janus never sends media from a loopback interface, so the tests give it one that is not: a veth
pair inside a namespace of their own, 127.0.0.2 on one end. serve.py (and the Janus it starts)
and Chromium run inside it, and so does the test's own HTTP while `inside` holds; nothing the
tests send reaches the machine's real interfaces. Needs root (the test set-up runs as root).
"""

import contextlib
import ctypes
import os
import shutil
import subprocess
from pathlib import Path

CLONE_NEWNET = 0x40000000  # setns(2)
INTERFACE = "v0"  # the veth end Janus and Chromium send media from
ADDRESS = "127.0.0.2"


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def create(name: str) -> None:
    delete(name)
    _ip("netns", "add", name)
    for command in (("link", "set", "lo", "up"), ("link", "add", INTERFACE, "type", "veth", "peer", "name", "v1"),
                    ("addr", "add", f"{ADDRESS}/32", "dev", INTERFACE), ("link", "set", INTERFACE, "up"),
                    ("link", "set", "v1", "up")):
        _ip("-n", name, *command)


def delete(name: str) -> None:
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@contextlib.contextmanager
def inside(name: str):
    """This thread in the namespace: its new sockets, and processes it starts, are there."""
    libc = ctypes.CDLL(None, use_errno=True)
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(there, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into the network namespace {name}")
        yield
    finally:
        libc.setns(here, CLONE_NEWNET)
        os.close(here)
        os.close(there)


def chromium_inside(name: str, folder: Path) -> str:
    """An executable that runs Debian's Chromium in the namespace (for Playwright's executable_path:
    its pipes to the browser pass through `ip netns exec` unchanged)."""
    script = folder / "chromium-in-netns"
    script.write_text(f'#!/bin/sh\nexec ip netns exec {name} {shutil.which("chromium")} "$@"\n')
    script.chmod(0o755)
    return str(script)
