"""serve.py's command line: flags to a running server, errors as one line."""

import argparse
import errno
import re
import shutil
import socket
import sys
from pathlib import Path

from aiohttp import web

from .app import ServerOptions, make_app
from .client_config import NETWORKS, parse_ice_server, parse_websocket_url
from .janus import JanusError

ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="serve.py",
        description="Serve Streamium: the static app, PeerJS signalling and (on regtest) a devnet.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--network", choices=NETWORKS, default="regtest",
                   help="Bitcoin network (default regtest, with the built-in devnet)")
    p.add_argument("--esplora", metavar="URL",
                   help="Esplora API base URL to use instead of the devnet, e.g. https://mempool.space/signet/api")
    p.add_argument("--explorer", metavar="URL", help="block explorer base URL for transaction links")
    p.add_argument("--allow-mainnet", action="store_true", help="required with --network mainnet: real money")
    p.add_argument("--peer-host", help="external PeerJS server host (then no built-in signalling)")
    p.add_argument("--peer-port", type=int, help="external PeerJS server port (default 443 if secure, else 9000)")
    p.add_argument("--peer-path", default="/", help="external PeerJS server path (default /)")
    p.add_argument("--peer-key", default="peerjs", help="PeerJS API key (default peerjs)")
    p.add_argument("--peer-secure", action="store_true", help="external PeerJS server uses TLS")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN or TURN server, repeatable: stun:HOST:PORT or turn:USER:PASS@HOST:PORT")
    p.add_argument("--no-devnet", action="store_true", help="do not run the regtest devnet")
    p.add_argument("--block-interval", type=float, default=10.0, metavar="S",
                   help="devnet: seconds between blocks; 0 mines right after each transaction (default 10)")
    p.add_argument("--data-dir", default=str(ROOT / ".devnet"), help="devnet data folder (default .devnet/)")
    p.add_argument("--reset", action="store_true", help="devnet: delete the chain and start a new one")
    p.add_argument("--sfu", choices=["janus"], help="relay the video through a local Janus WebRTC Server "
                   "(Debian's janus; installed on first use): the broadcaster sends one stream")
    p.add_argument("--sfu-port", type=int, default=8188, metavar="PORT",
                   help="--sfu janus: its WebSocket API's port on loopback (default 8188; the Admin API's is PORT+1)")
    p.add_argument("--sfu-interface", metavar="NAME", help="--sfu janus: the one network interface Janus "
                   "sends media from (default: every one but loopback)")
    p.add_argument("--sfu-url", metavar="URL", help="relay through an existing Janus, by its WebSocket API's URL "
                   "(ws:// or wss://)")
    p.add_argument("--buried", type=int, default=6, metavar="N",
                   help="confirmations before a closing transaction is final and a channel's keys may be "
                        "forgotten (default 6; fewer only on regtest)")
    return p.parse_args(argv)


def options_from_args(args) -> ServerOptions:
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number")
    if args.network == "mainnet" and not args.allow_mainnet:
        raise UsageError("--network mainnet moves real money; add --allow-mainnet if you mean it")
    devnet = args.network == "regtest" and not args.esplora and not args.no_devnet
    if args.network == "regtest" and not devnet and not args.esplora:
        raise UsageError("regtest without the devnet needs --esplora URL of a regtest Esplora")
    if args.block_interval < 0:
        raise UsageError("--block-interval must be 0 or more seconds")
    if not 1 <= args.buried <= 100 or (args.buried < 6 and args.network != "regtest"):
        raise UsageError("--buried must be 1 to 100, and at least 6 off regtest")
    try:
        ice = [parse_ice_server(url) for url in args.ice_server]
    except ValueError as e:
        raise UsageError(str(e))
    peer = None
    if args.peer_host:
        port = args.peer_port or (443 if args.peer_secure else 9000)
        peer = {"host": args.peer_host, "port": port, "path": args.peer_path,
                "key": args.peer_key, "secure": args.peer_secure}
    if args.sfu and args.sfu_url:
        raise UsageError("--sfu janus starts a Janus here, --sfu-url names one elsewhere: pass one of them")
    if args.sfu_interface is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,15}", args.sfu_interface):
        raise UsageError(f"--sfu-interface {args.sfu_interface!r} is not a network interface's name")
    if args.sfu_interface and not args.sfu:
        raise UsageError("--sfu-interface is for --sfu janus (the Janus serve.py starts)")
    if not 0 < args.sfu_port < 65535:
        raise UsageError(f"--sfu-port {args.sfu_port} is not a port number (PORT+1 is used too)")
    sfu = None
    if args.sfu:
        sfu = {"kind": "janus", "host": None, "port": args.sfu_port, "path": "/", "secure": False}
    elif args.sfu_url:
        try:
            sfu = {"kind": "janus", **parse_websocket_url(args.sfu_url)}
        except ValueError as e:
            raise UsageError(f"--sfu-url: {e}")
    return ServerOptions(
        root=ROOT, network=args.network, esplora=args.esplora, explorer=args.explorer,
        peer=peer, ice_servers=ice, devnet=devnet, block_interval=args.block_interval,
        data_dir=Path(args.data_dir), reset=args.reset, buried=args.buried, sfu=sfu,
        janus_port=args.sfu_port if args.sfu else None, janus_interface=args.sfu_interface)


def check_port_free(host, port):
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # as aiohttp listens: a restart right after a crash is not refused for the old connections
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is in use: stop the other server or pass --port N")
            raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        options = options_from_args(args)
        check_port_free(args.host, args.port)
        if options.janus_port:
            check_port_free("127.0.0.1", options.janus_port)
            check_port_free("127.0.0.1", options.janus_port + 1)
        app = make_app(options)
    except UsageError as e:
        print(f"serve.py: error: {e}", file=sys.stderr)
        return 2
    if options.network == "mainnet":
        print("serve.py: WARNING: mainnet: channels move real bitcoin", file=sys.stderr)
    if options.janus_port and not shutil.which("janus"):
        from tools.bootstrap import apt_install  # the set-up's, as for Chromium in the tests
        apt_install("janus")  # if it cannot, Janus's start says what to do
    print(f"Streamium on http://{args.host}:{args.port}/  ({options.describe()})", flush=True)
    try:
        web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    except JanusError as e:
        print(f"serve.py: error: {e}", file=sys.stderr)
        return 1
    return 0
