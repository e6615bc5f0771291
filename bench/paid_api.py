#!/usr/bin/env python3
"""Paid API requests: paywall.py charging per request against the same upstream with no
payment, side by side in one run; and on-chain bytes per channel against requests served.

Real processes, on loopback: serve.py (devnet, a block every second), the toy upstream
(`python -m tests.paywall.toy_api`) and two paywall.py in front of it, both `--rate-limit 0`
with a fresh database: one prices `GET /v1/*` at 10 sat, the other serves the same route
free (`--free '/v1/*'`), so both requests go through the identical proxy code and only one
pays. The load generator is the same for both: streamium_pay's `PayingClient` (on the free
proxy it simply gets its 200 without paying), `asyncio` workers keeping C requests in flight
for --requests requests of `GET /v1/echo`, one process, unpaid and paid batches interleaved
(each run alternates which goes first) at each concurrency so machine noise hits both alike.

Before anything is timed the paid side is warmed with pay.py bench's own warm-up
(`streamium_pay.cli.warm`): the wallet funded from the faucet, one paid request opening a
channel whose deposit covers every timed request, the funding confirmed and the paywall's
next look at it passed (it checks an unconfirmed T1 every 10 s), then untimed requests on both
sides, past the paywall's unconfirmed limit. A timed request that had to wait for the funding
fails the benchmark (after the runs).

On-chain: the benchmark's channel and channels serving 10, 100 and 1,000 requests, each
closed with the client's exact close (`PayingClient.close_channel`); the wallet's payment to
K1, T1 and the settling T3 are fetched from the devnet's Esplora (vbytes = ceil(weight / 4)).

With --profile PY_SPY (the py-spy executable, e.g. pip-installed into a temporary venv), one
more untimed batch per side at concurrency 16 runs after the timed ones with `py-spy record
--idle` on the paywall and on this process, and the notes say where their wall time goes.

    .venv/bin/python bench/paid_api.py [--runs 5] [--requests 2000] [--tiny] [--json FILE] [--profile PY_SPY]
"""

import asyncio
import contextlib
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, emit, parser, percentile, row  # noqa: E402  (sets sys.path)

import aiohttp

from streamium_pay import PayingClient, Wallet, closing
from streamium_pay.chain import chain_round
from streamium_pay.cli import warm
from streamium_server import event_loop
from streamium_server.esplora_client import esplora
from tests.conftest import ServerProcess
from tests.browser.e2e_support import regtest_address

PRICE = 10
TARGET = 0.5  # paid ≥ 0.5 × unpaid requests/s at concurrency 16
HEADLINE = 16
CONCURRENCY = (1, 4, 16)
LATENCY_AT = (1, 16)
PROFILED = 3  # --profile: batches of 3 × --requests, so py-spy's attaching is a small part of its samples
WARM_REQUESTS = 200  # untimed, each side, at the headline concurrency: past the 100 requests allowed unconfirmed
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOTSPOTS = {  # --profile: share of a process's samples with one of these functions on the stack
    "SQLite commits (Store.claim, .finish, .put_channel)": ("Store.claim", "Store.finish", "Store.put_channel"),
    "wallet file written (Wallet.save)": ("Wallet.save",),
    "ECDSA sign + verify": ("ecdsa_sign", "ecdsa_verify"),
    "proxy handler (the upstream call)": ("proxy_handler.<locals>.handle",),
    "idle (epoll wait)": ("EpollSelector.select",),
}


class Refused(RuntimeError):
    """A timed request was not answered as the benchmark expects."""


def worlds(tmp: Path, stack: contextlib.ExitStack):
    """serve.py's devnet, the toy upstream and the two paywalls, stopped when `stack` closes."""
    def started(server):
        stack.callback(server.stop)
        return server.start()

    devnet = started(ServerProcess("--block-interval", "1", data_dir=tmp / "devnet"))
    toy = started(ServerProcess(module="tests.paywall.toy_api", data_dir=tmp / "toy", data_dir_flag=False,
                                ready_path="/health"))
    common = ["--upstream", toy.url, "--payout", regtest_address(), "--esplora",
              devnet.url + "/api", "--rate-limit", "0"]

    def paywall(name, *prices):
        return started(ServerProcess(*common, *prices, "--db", str(tmp / f"{name}.sqlite3"), script=ROOT / "paywall.py",
                                     data_dir=tmp / name, data_dir_flag=False, ready_path="/metrics"))

    paid = paywall("paid", "--price", f"GET /v1/*={PRICE}")
    free = paywall("free", "--price", "GET /never=1", "--free", "/v1/*")
    return devnet, toy, paid, free


def cpu_seconds(pid=None) -> float:
    """User + system CPU of a process (this one when pid is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@contextlib.asynccontextmanager
async def spying(py_spy: str, pids: dict, folder: Path):
    """py-spy (wall time: --idle) on each of `pids` while the block runs; yields {name: raw file}."""
    files = {name: folder / f"{name}.txt" for name in pids}
    spies = [subprocess.Popen([py_spy, "record", "--idle", "--rate", "200", "--format", "raw", "--output", str(files[name]),
                               "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, pid in pids.items()]
    try:
        await asyncio.sleep(0.5)  # attached
        yield files
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(30)


def hotspots(raw: Path) -> tuple:
    """(samples, {HOTSPOTS name: share}) of a py-spy raw (collapsed stacks) file."""
    total, hits = 0, dict.fromkeys(HOTSPOTS, 0)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        functions = {frame.split(" (")[0] for frame in stack.split(";")}
        total += int(count)
        for name, wanted in HOTSPOTS.items():
            hits[name] += int(count) if functions.intersection(wanted) else 0
    return total, {name: hit / max(total, 1) for name, hit in hits.items()}


def metrics(url: str) -> dict:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {k: float(v) for k, v in (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))}


class Bench:
    def __init__(self, session, esplora_url, wallet, paid, free, others):
        self.session, self.esplora_url = session, esplora_url
        self.said = []
        self.client = PayingClient(wallet, esplora(esplora_url, session), session, say=self.said.append)
        self.paid, self.free = paid, free
        self.pids = {"client (this process)": None, "paywall / proxy": None, **others}

    def waits(self) -> int:
        return sum("waiting" in text for text in self.said)

    async def faucet(self, amount: int) -> None:
        async with self.session.post(self.esplora_url + "/devnet/faucet",
                                     json={"address": self.client.wallet.address, "amount_sat": amount}) as r:
            assert r.status == 200, await r.text()

    async def batch(self, paid: bool, count: int, concurrency: int):
        """`count` requests, `concurrency` in flight: (requests/s, latencies in ms, CPU s by process)."""
        server = self.paid if paid else self.free
        url, latencies, todo = server.url + "/v1/echo", [], iter(range(count))
        pids = {**self.pids, "paywall / proxy": server.proc.pid}

        async def worker():
            for _ in todo:
                began = time.perf_counter()
                answer = await self.client.get(url)
                latencies.append((time.perf_counter() - began) * 1000)
                charged = answer.receipt and answer.receipt.charged
                if answer.status != 200 or charged != (PRICE if paid else None):
                    raise Refused(f"{url}: HTTP {answer.status}, charged {charged}: {answer.body[:200]!r}")

        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        return count / elapsed, latencies, {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}

    async def txs(self, entry, closing_txid: str) -> dict:
        """vbytes of the wallet's payment to K1, T1 and T3; T3's payout output."""
        v = entry.viewer
        ids = {"payment": v.utxos[0].txid, "T1": v.channel.funding.txid, "T3": closing_txid}
        sizes = {}
        for name, txid in ids.items():
            async with self.session.get(f"{self.esplora_url}/tx/{txid}") as r:
                tx = await r.json()
            sizes[name] = math.ceil(tx["weight"] / 4)
            if name == "T3":
                payout = v.offer.terms.payout_address
                sizes["paid"] = sum(o["value"] for o in tx["vout"] if o.get("scriptpubkey_address") == payout)
        return sizes

    async def close(self, entry) -> dict:
        txid = await self.client.close_channel(self.paid.url)
        assert txid == entry.viewer.closing_txid, (txid, entry.viewer.closing_txid)
        # as pay.py does before each command: the channel sees its T3 and goes on to `settling`;
        # left `closing`, the next close_channel with this server would send its close again
        await chain_round(self.client.wallet, self.client.control.api, int(time.time()))
        assert not closing.closable(entry), entry.viewer.state
        return {"requests": entry.spent // PRICE, **await self.txs(entry, txid)}


async def measure(tmp: Path, devnet, toy, paid, free, runs, count, channel_sizes, py_spy=None):
    wallet = Wallet.open(tmp / "wallet.json", "regtest")
    try:
        async with aiohttp.ClientSession() as session:
            b = Bench(session, devnet.url + "/api", wallet, paid, free, {"upstream": toy.proc.pid})
            timed = runs * len(CONCURRENCY) * count + (PROFILED * count if py_spy else 0)
            await b.faucet((timed + WARM_REQUESTS + 100) * PRICE + 200_000 + 20 * sum(channel_sizes) * PRICE)
            began = time.perf_counter()
            # 100 requests more than it serves: spent to within dust of its deposit, a T3 has no change output
            warmed = await warm(b.client, paid.url + "/v1/echo", timed + WARM_REQUESTS + 100)
            for paying in (False, True):
                await b.batch(paying, WARM_REQUESTS, HEADLINE)
            warm_s = time.perf_counter() - began
            waits, before = b.waits(), metrics(paid.url)
            results = []  # per run: {(paid, concurrency): (rate, latencies, cpu)}
            for r in range(runs):
                result = {}
                for c in CONCURRENCY:
                    for paying in ((False, True) if r % 2 == 0 else (True, False)):
                        result[paying, c] = await b.batch(paying, count, c)
                results.append(result)
            if b.waits() != waits:
                raise Refused(f"a timed request waited for the funding to confirm: {b.said[waits:]}")
            after = metrics(paid.url)
            counted = {k: after.get(f'streamium_paywall_requests_total{{result="{k}"}}', 0)
                       - before.get(f'streamium_paywall_requests_total{{result="{k}"}}', 0)
                       for k in ("charged", "refused")}

            profile = {}
            if py_spy:
                for paying in (True, False):
                    server = paid if paying else free
                    side = "paid" if paying else "unpaid"
                    pids = {"paywall" if paying else "proxy": server.proc.pid, "client": os.getpid()}
                    async with spying(py_spy, pids, tmp) as files:
                        rate = (await b.batch(paying, PROFILED * count, HEADLINE))[0]
                    profile[side] = rate, {name: hotspots(raw) for name, raw in files.items()}

            entry = b.client.wallet.channels[next(reversed(b.client.wallet.channels))]
            chains = [await b.close(entry)]
            for n in channel_sizes:
                b.client.deposit = max(5000, (n + 2 * b.client.prepay) * PRICE + 1000)
                await b.batch(True, n, min(n, HEADLINE))
                entry = b.client.wallet.channels[next(reversed(b.client.wallet.channels))]
                chains.append(await b.close(entry))
    finally:
        wallet.close()
    return results, chains, counted, (warmed, waits, warm_s), profile


def profile_notes(profile) -> str:
    lines = [f"**Where the time goes** (`--profile`: `py-spy record --idle`, i.e. wall time, on each process during "
             f"one more batch of {PROFILED} × --requests per side at concurrency {HEADLINE} after the timed ones, from "
             "0.5 s before it starts; py-spy slows what it samples a little). Share of each process's samples with the "
             "function on its stack:", "",
             "| side, process | req/s | samples | " + " | ".join(HOTSPOTS) + " |", "|" + "---|" * (3 + len(HOTSPOTS))]
    for side, (rate, processes) in profile.items():
        for name, (samples, shares) in processes.items():
            lines.append(f"| {side}, {name} | {rate:.0f} | {samples} | "
                         + " | ".join(f"{100 * shares[h]:.0f} %" for h in HOTSPOTS) + " |")
    return "\n".join(lines)


def rows_and_notes(results, chains, counted, warm, profile, runs, count):
    def rate(paying, c):
        return [res[paying, c][0] for res in results]

    def pct(paying, c, q):
        return [percentile(res[paying, c][1], q) for res in results]

    ratios = [res[True, HEADLINE][0] / res[False, HEADLINE][0] for res in results]
    ratio = statistics.median(ratios)
    rows = [row(f"paid ÷ unpaid requests/s at concurrency {HEADLINE} (same run)", ratios, "×",
                target=f"≥ {TARGET}×", met=ratio >= TARGET, fmt="{:.2f}")]
    for c in CONCURRENCY:
        rows += [row(f"unpaid requests/s, concurrency {c} (free route, same proxy)", rate(False, c), "/s", fmt="{:.0f}"),
                 row(f"paid requests/s, concurrency {c} ({PRICE} sat each)", rate(True, c), "/s", fmt="{:.0f}")]
    for c in LATENCY_AT:
        for q in (50, 99):
            unpaid, paid = pct(False, c, q), pct(True, c, q)
            rows += [row(f"unpaid latency p{q}, concurrency {c}", unpaid, "ms", fmt="{:.2f}"),
                     row(f"paid latency p{q}, concurrency {c}", paid, "ms", fmt="{:.2f}"),
                     row(f"added latency per paid request p{q} (paid − unpaid), concurrency {c}",
                         [p - u for p, u in zip(paid, unpaid)], "ms", fmt="{:.2f}")]
    per_channel = [ch["payment"] + ch["T1"] + ch["T3"] for ch in chains]
    rows.append(row("on-chain per channel: wallet's payment to K1 + T1 + T3", per_channel, "vB", fmt="{:.0f}",
                    note="one value per channel"))
    for ch, total in zip(chains, per_channel):
        rows.append(row(f"on-chain per request, channel serving {ch['requests']:,} requests", [total / ch["requests"]],
                        "vB", fmt="{:.3g}"))

    table = ["| concurrency | unpaid req/s | paid req/s | paid ÷ unpaid | unpaid p50 / p99 ms | paid p50 / p99 ms "
             "| added p50 / p99 ms | CPU ms per request, unpaid: client / proxy / upstream "
             "| paid: client / paywall / upstream |", "|" + "---|" * 9]
    med = statistics.median
    for c in CONCURRENCY:
        def cpu(paying):
            per = {k: med(res[paying, c][2][k] for res in results) * 1000 / count for k in results[0][paying, c][2]}
            return " / ".join(f"{per[k]:.2f}" for k in ("client (this process)", "paywall / proxy", "upstream"))
        u50, u99, p50, p99 = (med(pct(p, c, q)) for p, q in ((False, 50), (False, 99), (True, 50), (True, 99)))
        table.append(f"| {c} | {med(rate(False, c)):.0f} | {med(rate(True, c)):.0f} | "
                     f"{med(r[True, c][0] / r[False, c][0] for r in results):.2f} | {u50:.2f} / {u99:.2f} | "
                     f"{p50:.2f} / {p99:.2f} | {p50 - u50:.2f} / {p99 - u99:.2f} | {cpu(False)} | {cpu(True)} |")
    onchain = ["| channel | requests served | wallet's payment to K1 | T1 | T3 | per channel | per request "
               "| T3 pays the paywall |", "|" + "---|" * 8]
    for i, (ch, total) in enumerate(zip(chains, per_channel)):
        onchain.append(f"| {'the timed one' if i == 0 else 'a new one'} | {ch['requests']:,} | {ch['payment']} vB "
                       f"| {ch['T1']} vB | {ch['T3']} vB | {total} vB | {total / ch['requests']:.3g} vB "
                       f"| {ch['paid']:,} sat |")
    notes = (f"{runs} run(s); each run times {count:,} requests per side at each concurrency "
             f"({', '.join(map(str, CONCURRENCY))}), unpaid and paid batches interleaved. Rates are requests / wall "
             "time of the batch; p50/p99 are nearest-rank percentiles of the batch's single requests (the rows give "
             "min/median/max over runs of them; the added latency is paid − unpaid within the same run). "
             f"Before them, pay.py bench's {warm[0]}; then {WARM_REQUESTS} untimed requests on each side "
             f"({warm[2]:.1f} s in all; the client said it waited for the funding {warm[1]} time(s)). Both paywalls run "
             "`--rate-limit 0` (the default, 200 requests a second per channel, would cap the paid side). During the timed "
             f"runs the paid paywall charged {counted['charged']:.0f} requests and refused {counted['refused']:.0f} "
             "(a refusal is retried by the client inside the same timed request; the paywall refuses a voucher that "
             "arrives after a higher one when it no longer covers the channel's use, `stale_voucher`). No timed "
             "request waited for the funding to confirm.\n\n"
             "Medians over the runs:\n\n" + "\n".join(table) +
             "\n\nCPU is user + system time of each process over the batch (/proc), divided by the requests; "
             "the machine has 2 cores for the three processes (and serve.py's devnet, nearly idle).\n\n"
             "**On-chain bytes per channel**, from the devnet's Esplora (`GET /api/tx/<txid>` weight, vbytes = "
             "ceil(weight / 4)): the wallet's payment to the channel's funding address P2WPKH(K1) (1 P2WPKH in, "
             "2 out: K1 and change), T1 (K1's coin into the 2-of-2 P2WSH) and the settling T3 of the exact close "
             "(paywall payout + change). Not counted: the faucet's payment into the wallet (once, not per "
             "channel) and T2 (only if the paywall vanishes). A channel costs the same bytes whatever it served "
             "(± 1 vB: a DER signature is 71 or 72 bytes), so per request they fall as 1/n:\n\n" + "\n".join(onchain))
    if profile:
        notes += "\n\n" + profile_notes(profile)
    return rows, notes


def main():
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=2000, help="requests per side, concurrency and run (default 2000)")
    p.add_argument("--profile", metavar="PY_SPY", help="also profile the paywall and the client with this py-spy")
    args = p.parse_args()
    runs, count, sizes = (2, 40, (2, 5)) if args.tiny else (args.runs, args.requests, (10, 100, 1000))
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = worlds(Path(tmp), stack)
        try:
            measured = event_loop.run(measure(Path(tmp), *servers, runs, count, sizes, args.profile))
        except BaseException:
            for server in servers:  # what the processes said, before the temporary folder goes
                print(f"--- {server.log_path.name} (last lines)\n" + "\n".join(server.output().splitlines()[-30:]),
                      file=sys.stderr)
            raise
    rows, notes = rows_and_notes(*measured, runs, count)
    results, chains = measured[:2]
    emit(args, rows, notes, extra={"chains": chains, "rates": [{f"{'paid' if k[0] else 'unpaid'} {k[1]}": v[0]
                                                                 for k, v in res.items()} for res in results]})


if __name__ == "__main__":
    main()
