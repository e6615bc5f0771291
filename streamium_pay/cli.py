"""pay.py's command line: a wallet that pays HTTP APIs per request over Streamium channels.
Errors the user can act on are one line on stderr and exit code 1."""

import argparse
import asyncio
import logging
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from app.channel import states
from app.channel.messages import NETWORKS
from app.esplora import ChainApiError
from streamium_server.esplora_client import esplora
from streamium_server.event_loop import run as run_loop

from .chain import chain_round
from .client import PayingClient, prepare
from .errors import PayError, Unreachable
from .quote import Quote, problem
from .wallet import Wallet, default_path

DEVNET_ESPLORA = "http://127.0.0.1:8000/api"
FAUCET_DEFAULT_SAT = 1_000_000


def say(text: str) -> None:
    print(f"pay.py: {text}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="pay.py", description="Pay HTTP APIs per request over Streamium channels.")
    p.add_argument("--network", choices=NETWORKS, default="regtest", help="Bitcoin network (default regtest)")
    p.add_argument("--esplora", metavar="URL",
                   help=f"Esplora API base URL (default on regtest: {DEVNET_ESPLORA}, the devnet of serve.py)")
    p.add_argument("--wallet", metavar="FILE", help="wallet file (default ~/.streamium/wallet-<network>.json)")
    p.add_argument("--allow-mainnet", action="store_true", help="required with --network mainnet: real money")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("address", help="the wallet's receive address")
    commands.add_parser("balance", help="coins in the wallet and in its channels")
    commands.add_parser("channels", help="every channel: server, state, capacity, spent, signed, lock time")
    quote = commands.add_parser("quote", help="what a URL costs (pays nothing)")
    quote.add_argument("url")
    get = commands.add_parser("get", help="GET a URL, paying for it")
    get.add_argument("url")
    get.add_argument("-o", "--output", metavar="FILE", help="write the body to FILE instead of stdout")
    get.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'", help="request header")
    bench = commands.add_parser("bench", help="paid requests per second and latency on one channel, timed "
                                              "after a warm-up that opens it and waits until it is usable")
    bench.add_argument("url")
    bench.add_argument("--requests", type=int, default=1000, metavar="N")
    bench.add_argument("--concurrency", type=int, default=16, metavar="C")
    for paying in (get, bench):
        paying.add_argument("--max-price", type=int, metavar="SATS", help="refuse a route that costs more")
        paying.add_argument("--budget", type=int, metavar="SATS", help="sign at most this much in this run")
        paying.add_argument("--deposit", type=int, metavar="SATS", help="a new channel's capacity")
        paying.add_argument("--prepay", type=int, default=8, metavar="K", help="sign K requests ahead (default 8)")
    close = commands.add_parser("close", help="settle the channels with a URL's server now; print the txid")
    close.add_argument("url")
    faucet = commands.add_parser("faucet", help="regtest: ask the devnet to fund the wallet")
    faucet.add_argument("--amount", type=int, default=FAUCET_DEFAULT_SAT, metavar="SATS")
    return p.parse_args(argv)


def check_args(args) -> str:
    """The Esplora URL to use; PayError for flags that do not go together."""
    if args.network == "mainnet" and not args.allow_mainnet:
        raise PayError("--network mainnet moves real money; add --allow-mainnet if you mean it")
    if args.command == "faucet" and args.network != "regtest":
        raise PayError("the faucet is the regtest devnet's")
    for name in ("max_price", "budget", "deposit", "prepay", "requests", "concurrency", "amount"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name in ("max_price", "budget") else 1):
            raise PayError(f"--{name.replace('_', '-')} must be a positive number")
    if args.esplora:
        return args.esplora
    if args.network != "regtest":
        raise PayError(f"--network {args.network} needs --esplora URL, e.g. https://mempool.space/signet/api")
    return DEVNET_ESPLORA


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="pay.py: %(message)s")
    try:
        base = check_args(args)
        wallet = Wallet.open(Path(args.wallet) if args.wallet else default_path(args.network), args.network)
        try:
            if args.command == "address":
                print(wallet.address)
                return 0
            return run_loop(run(args, wallet, base))
        finally:
            wallet.close()
    except (PayError, ChainApiError, ValueError) as e:
        print(f"pay.py: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pay.py: interrupted; the wallet file holds every channel as it was", file=sys.stderr)
        return 130


async def run(args, wallet: Wallet, base: str) -> int:
    async with aiohttp.ClientSession() as session:
        api = esplora(base, session, on_wait=say)
        await chain_round(wallet, api, int(time.time()))
        if args.command == "faucet":
            return await faucet(session, base, wallet, args.amount)
        if args.command == "balance":
            return await balance(api, wallet)
        if args.command == "channels":
            return channels(wallet)
        if args.command == "quote":
            return await show_quote(session, wallet, args.url)
        client = PayingClient(wallet, api, session, **({} if args.command == "close" else dict(
            max_price=args.max_price, budget=args.budget, deposit=args.deposit, prepay=args.prepay)), say=say)
        try:
            if args.command == "close":
                txid = await client.close_channel(args.url)
                print(txid or "nothing to publish: the channel held no coins")
                return 0
            if args.command == "get":
                return await get(client, args)
            return await bench(client, args.url, args.requests, args.concurrency)
        finally:
            client.flush()


async def faucet(session, base: str, wallet: Wallet, amount: int) -> int:
    url = base.rstrip("/") + "/devnet/faucet"
    try:
        async with session.post(url, json={"address": wallet.address, "amount_sat": amount}) as response:
            text = await response.text()
            if response.status != 200:
                raise PayError(f"the devnet faucet refused: {text[:200]}")
            print((await response.json())["txid"])
    except aiohttp.ClientError as e:
        raise Unreachable(f"the devnet at {base} did not answer ({e}): is `python3 serve.py` running?") from None
    return 0


async def balance(api, wallet: Wallet) -> int:
    coins = await api.address_utxos(wallet.address)
    confirmed = sum(c.value for c in coins if c.confirmed)
    print(f"wallet {wallet.address}: {confirmed} sat confirmed, {sum(c.value for c in coins) - confirmed} "
          f"sat unconfirmed")
    for entry in wallet.channels.values():
        v = entry.viewer
        if states.watches_chain(v.state):
            print(f"channel with {entry.origin}: {v.state}, capacity {v.capacity} sat, spent {entry.spent} sat, "
                  f"signed {v.amount} sat")
    return 0


def channels(wallet: Wallet) -> int:
    if not wallet.channels:
        print("no channels")
    for entry in wallet.channels.values():
        v = entry.viewer
        lock = v.channel and datetime.fromtimestamp(v.channel.lock_time, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        retired = f" (no new requests: {entry.retired})" if entry.retired and v.state == states.OPEN else ""
        print(f"{entry.channel_key[:16]}…  {entry.origin}  {v.state}{retired}  capacity {v.capacity} sat  "
              f"spent {entry.spent} sat  signed {v.amount} sat  refund from {lock or '-'}"
              + (f"  settled by {v.closing_txid}" if v.closing_txid else ""))
    return 0


async def fetch_quote(session, url: str, network: str):
    """An unpaid GET of `url`: its HTTP status and, for a 402, the quote (nothing is paid)."""
    req = prepare("GET", url)
    try:
        async with session.get(req.url, allow_redirects=False) as response:
            status, kind, body = response.status, response.content_type, await response.read()
    except aiohttp.ClientError as e:
        raise Unreachable(f"{req.origin} did not answer: {e}") from None
    return status, (Quote.from_problem(problem(kind, body), network) if status == 402 else None)


async def show_quote(session, wallet: Wallet, url: str) -> int:
    status, q = await fetch_quote(session, url, wallet.network)
    if q is None:
        print(f"{url}: HTTP {status}, no payment asked")
        return 0
    t = q.terms
    print(f"{q.route}: {q.price_sat} sat per request, from {q.name!r} ({q.network}, identity {q.identity_pubkey})\n"
          f"channel: deposit at least {t['min_deposit_sat']} sat, payments from {t['min_payment_sat']} sat, "
          f"fee rate {t['fee_rate_sat_vb']} sat/vB, close fee {t['close_fee_sat']} sat\n"
          f"refund lock {t['refund_lock_s']} s (the server settles {t['settle_margin_s']} s before), "
          f"{t['confirmations']} confirmation(s) needed, {t['max_unconfirmed_sat']} sat usable before")
    return 0


async def get(client: PayingClient, args) -> int:
    headers = []
    for line in args.header:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise PayError(f"-H {line!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    answer = await client.get(args.url, headers=headers)
    if args.output:
        Path(args.output).write_bytes(answer.body)
    else:
        sys.stdout.buffer.write(answer.body)
        sys.stdout.flush()
    r = answer.receipt
    say(f"HTTP {answer.status}: " + (f"charged {r.charged} sat, spent {r.spent} sat, credit {r.credit} sat"
                                      if r else "free, nothing paid"))
    return 0 if answer.status < 400 else 1


async def warm(client: PayingClient, url: str, count: int) -> str:
    """Make a channel ready for `count` paid requests to `url` before anything is timed: a deposit
    that covers them (unless the client has one set), opened by one paid request (or the open
    channel taken), and, if they would spend past what the server lets through before the
    funding confirms, T1 confirmed and the server's next look at it (every pay_interval_s, v2 §B)
    passed. What it did, as one line."""
    began = time.perf_counter()
    status, quote = await fetch_quote(client.control.session, url, client.wallet.network)
    if quote is None:
        raise PayError(f"{url} is free (HTTP {status}): nothing to pay for")
    price, quoted = quote.price_sat, quote.terms
    if client.deposit is None:
        client.deposit = max(quoted["min_deposit_sat"],
                             (count + 2 * client.prepay + 1) * price + quoted["close_fee_sat"])
    first = await client.get(url)
    if first.receipt is None or first.status >= 400:
        raise PayError(f"the first paid request to {url} was answered HTTP {first.status}")
    entry = client.wallet.channels[first.receipt.channel]
    v, terms = entry.viewer, entry.viewer.offer.terms
    done = [f"one paid request on channel {entry.channel_key[:16]}… (capacity {v.capacity} sat)"]
    if entry.spent <= terms.max_unconfirmed_sat < entry.spent + count * price:
        while not getattr(await client.control.api.tx_status(v.channel.funding.txid), "confirmed", False):
            await asyncio.sleep(1)
        await asyncio.sleep(terms.pay_interval_s + 1)
        done.append(f"its funding confirmed, then {terms.pay_interval_s + 1} s for the server to see it")
    room = (v.channel.max_amount - entry.spent) // price
    if room < count:
        done.append(f"room for only {room} of the {count} requests: another channel opens while timed")
    return f"warm-up, not timed ({time.perf_counter() - began:.1f} s): " + "; ".join(done)


async def bench(client: PayingClient, url: str, count: int, concurrency: int) -> int:
    say(await warm(client, url, count))
    latencies, gate = [], asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            began = time.perf_counter()
            answer = await client.get(url)
            latencies.append(time.perf_counter() - began)
            if answer.receipt is None or answer.status >= 400:
                raise PayError(f"a benchmark request was answered HTTP {answer.status}")

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if count > 1 else latencies * 99
    print(f"{count} paid requests on one channel ({concurrency} at a time, after the warm-up) in {elapsed:.2f} s: "
          f"{count / elapsed:.1f} requests/s, latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms; "
          f"{client.signed} sat signed")
    return 0
