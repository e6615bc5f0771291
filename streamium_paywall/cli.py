"""paywall.py's command line: a reverse proxy that charges per request, errors as one line."""

import argparse
import logging
import sys
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from streamium_server.cli import UsageError, check_port_free
from streamium_server.client_config import NETWORKS
from streamium_server.event_loop import new_loop

from .book import Options
from .prices import PriceList, Route
from .service import Settings, SettingsError, proxy, setup

ROOT = Path(__file__).resolve().parent.parent
DEVNET_ESPLORA = "http://127.0.0.1:8000/api"  # python3 serve.py's devnet


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="paywall.py",
        description="Charge per request for any HTTP API over Streamium payment channels (docs/http-payments.md).")
    p.add_argument("--upstream", required=True, metavar="URL", help="the API to put the paywall in front of")
    p.add_argument("--price", action="append", default=[], metavar="'METHOD PATH-GLOB=SATS'",
                   help="a priced route, repeatable, first match wins, e.g. 'GET /v1/*=10'")
    p.add_argument("--free", action="append", default=[], metavar="PATH-GLOB",
                   help="a path served without payment, repeatable; any other unpriced path is refused (403)")
    p.add_argument("--payout", required=True, metavar="ADDRESS", help="where the channels pay out")
    p.add_argument("--network", choices=NETWORKS, default="regtest", help="Bitcoin network (default regtest)")
    p.add_argument("--esplora", metavar="URL",
                   help=f"Esplora API (default on regtest: serve.py's devnet, {DEVNET_ESPLORA})")
    p.add_argument("--allow-mainnet", action="store_true", help="required with --network mainnet: real money")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8402, help="port to listen on (default 8402)")
    p.add_argument("--db", metavar="FILE", help="SQLite database of the channels (default paywall-<network>.sqlite3)")
    p.add_argument("--name", help="the service's name in its offer (default: the upstream's host)")
    p.add_argument("--max-channels", type=int, default=1000, help="open channels at most (default 1000)")
    p.add_argument("--rate-limit", type=float, default=200.0, metavar="N",
                   help="requests a second per channel, beyond them 429 and no charge (default 200; 0: none)")
    p.add_argument("--idle-close", type=int, default=6 * 3600, metavar="S",
                   help="settle a channel unused for this long (default 21600 s)")
    p.add_argument("--refund-lock", type=int, default=86_400, metavar="S",
                   help="the channels' refund lock time (default 86400 s; they settle 2 h before it)")
    p.add_argument("--min-deposit", type=int, default=5000, metavar="SATS", help="smallest channel (default 5000)")
    p.add_argument("--max-unconfirmed", type=int, metavar="SATS",
                   help="what a channel may spend before its funding confirms (default 100 requests)")
    p.add_argument("--max-unconfirmed-total", type=int, default=1_000_000, metavar="SATS",
                   help="what all channels together may spend before their funding confirms (default 1000000)")
    p.add_argument("--metrics-path", default="/metrics", metavar="PATH",
                   help="Prometheus metrics, public (default /metrics; '' for none)")
    p.add_argument("--confirmations", type=int, default=0, help="funding confirmations before use (default 0)")
    p.add_argument("--fee-rate", type=int, metavar="SAT/VB", help="closing fee rate (default: the chain's estimate)")
    p.add_argument("--buried", type=int, default=6, metavar="N",
                   help="confirmations that make a settlement final (default 6; fewer only on regtest)")
    p.add_argument("--upstream-timeout", type=float, default=30.0, metavar="S",
                   help="an upstream answer later than this is a 504, not charged (default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="log each channel's chain work")
    return p.parse_args(argv)


def settings_from_args(args) -> Settings:
    if not args.price:
        raise UsageError("give at least one --price 'METHOD PATH-GLOB=SATS'")
    if args.network == "mainnet" and not args.allow_mainnet:
        raise UsageError("--network mainnet moves real money; add --allow-mainnet if you mean it")
    if not 1 <= args.buried <= 100 or (args.buried < 6 and args.network != "regtest"):
        raise UsageError("--buried must be 1 to 100, and at least 6 off regtest")
    esplora = args.esplora or (DEVNET_ESPLORA if args.network == "regtest" else None)
    if esplora is None:
        raise UsageError(f"--network {args.network} needs --esplora URL, e.g. https://mempool.space/signet/api")
    try:
        prices = PriceList(tuple(Route.parse(p) for p in args.price), tuple(args.free))
    except ValueError as e:
        raise UsageError(str(e))
    return Settings(
        prices=prices, payout_address=args.payout, network=args.network, esplora=esplora,
        db=args.db or str(Path.cwd() / f"paywall-{args.network}.sqlite3"),
        name=args.name or urlsplit(args.upstream).netloc or "API", fee_rate=args.fee_rate,
        min_deposit_sat=args.min_deposit, refund_lock_s=args.refund_lock, max_unconfirmed_sat=args.max_unconfirmed,
        confirmations=args.confirmations, upstream_timeout=args.upstream_timeout, metrics_path=args.metrics_path,
        channels=Options(buried=args.buried, max_channels=args.max_channels, idle_close_s=args.idle_close,
                         rate_limit=args.rate_limit, unconfirmed_total=args.max_unconfirmed_total))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="paywall.py: %(message)s")
    try:
        settings = settings_from_args(args)
        settings.terms(settings.fee_rate or 1)  # the payout and terms, checked before anything starts
        check_port_free(args.host, args.port)
        app = web.Application()
        setup(app, settings)
        proxy(app, args.upstream)
    except (UsageError, SettingsError) as e:
        print(f"paywall.py: error: {e}", file=sys.stderr)
        return 2
    if args.network == "mainnet":
        print("paywall.py: WARNING: mainnet: channels move real bitcoin", file=sys.stderr)
    prices = ", ".join(f"{r} = {r.price} sat" for r in settings.prices.routes)
    print(f"paywall on http://{args.host}:{args.port}/ in front of {args.upstream} ({prices}; "
          f"payout {args.payout}; chain {settings.esplora}; database {settings.db})", flush=True)
    try:
        web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, loop=new_loop())
    except SettingsError as e:
        print(f"paywall.py: error: {e}", file=sys.stderr)
        return 2
    return 0
