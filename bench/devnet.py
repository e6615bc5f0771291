#!/usr/bin/env python3
"""Devnet: POST /tx to confirmed (block_interval 0), and 1,000 transactions into blocks.

The devnet (streamium_server.devnet, every block judged by libbitcoinkernel) is mounted
at /api in an aiohttp server on loopback, in this process, as serve.py mounts it; the
client is aiohttp over real HTTP. Coins: the faucet funds one key, which fans out into
many 50,000-sat P2WPKH coins in one transaction; every timed transaction spends one of
them (1 P2WPKH input, 1 output, signed by embit with native libsecp256k1).

- POST /tx -> confirmed: POST the hex, then GET /tx/:txid/status until confirmed
  (with block_interval 0 the block is mined inside the POST). One sample per tx.
- 1,000 txs, one block each: block_interval 0, the txs POSTed one after another.
- 1,000 txs, one block: mining on demand; POST all 1,000 into the mempool, then
  POST /devnet/mine {"blocks": 1}; the time is the whole (POSTs + mine).

    .venv/bin/python bench/devnet.py [--runs 5] [--tiny]
"""

import asyncio
import statistics
import tempfile
import time

from common import emit, parser, row  # noqa: E402  (sets sys.path)

from aiohttp import ClientSession, web

from streamium_server.devnet import DEVNET, make_devnet_app
from streamium_server.devnet.wallet import Key, Prevout

TARGET_MS = 50
COIN_VALUE = 50_000


class Bench:
    def __init__(self, session, base, devnet):
        self.s, self.base, self.devnet = session, base, devnet
        self.key = Key()
        self.coins = []

    async def post_tx(self, raw_hex):
        async with self.s.post(self.base + "/tx", data=raw_hex) as r:
            text = await r.text()
            assert r.status == 200, text
            return text

    async def fan_out(self, count):
        """Give self.key `count` confirmed coins of COIN_VALUE (2,000 per fan-out tx: 100 kvB limit)."""
        while count > 2000:
            await self.fan_out(2000)
            count -= 2000
        need = count * COIN_VALUE + 40 * count + 10_000
        async with self.s.post(self.base + "/devnet/faucet", json={"address": self.key.address, "amount_sat": need}) as r:
            txid = (await r.json())["txid"]
        await self.mine()
        async with self.s.get(f"{self.base}/tx/{txid}") as r:
            vout = next(i for i, o in enumerate((await r.json())["vout"]) if o.get("scriptpubkey_address") == self.key.address)
        spend = self.key.spend([Prevout(txid, vout, need)], [(self.key.script_pubkey, COIN_VALUE)] * count)
        fan = await self.post_tx(spend.serialize().hex())
        await self.mine()
        self.coins += [Prevout(fan, i, COIN_VALUE) for i in range(count)]

    async def mine(self, blocks=1):
        async with self.s.post(self.base + "/devnet/mine", json={"blocks": blocks}) as r:
            assert r.status == 200, await r.text()

    def spends(self, n):
        """n signed one-in one-out txs (hex), built before any timing."""
        coins, self.coins = self.coins[:n], self.coins[n:]
        assert len(coins) == n, "not enough coins"
        return [self.key.spend([c], [(self.key.script_pubkey, COIN_VALUE - 500)]).serialize().hex() for c in coins]

    async def confirmed(self, txid):
        async with self.s.get(f"{self.base}/tx/{txid}/status") as r:
            return (await r.json())["confirmed"]


async def measure(runs, per_run, batch, batch_runs):
    with tempfile.TemporaryDirectory() as tmp:
        api = make_devnet_app(tmp + "/devnet", block_interval=0)
        root = web.Application()
        root.add_subapp("/api", api)
        runner = web.AppRunner(root)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        devnet = api[DEVNET]
        try:
            async with ClientSession() as session:
                b = Bench(session, f"http://127.0.0.1:{port}/api", devnet)
                devnet.block_interval = 3600  # set up coins without a block per tx
                await b.fan_out(runs * per_run + 2 * batch * batch_runs)

                devnet.block_interval = 0
                confirm_ms = []
                for _ in range(runs):
                    for raw in b.spends(per_run):
                        start = time.perf_counter()
                        txid = await b.post_tx(raw)
                        while not await b.confirmed(txid):
                            await asyncio.sleep(0.001)
                        confirm_ms.append((time.perf_counter() - start) * 1000)

                each_block_s = []
                for _ in range(batch_runs):
                    txs = b.spends(batch)
                    height = devnet.chain.height
                    start = time.perf_counter()
                    for raw in txs:
                        await b.post_tx(raw)
                    each_block_s.append(time.perf_counter() - start)
                    assert devnet.chain.height == height + batch

                devnet.block_interval = 3600
                one_block_s, post_s, mine_s = [], [], []
                for _ in range(batch_runs):
                    txs = b.spends(batch)
                    start = time.perf_counter()
                    for raw in txs:
                        last = await b.post_tx(raw)
                    posted = time.perf_counter()
                    await b.mine()
                    end = time.perf_counter()
                    assert await b.confirmed(last) and not devnet.mempool.entries
                    one_block_s.append(end - start)
                    post_s.append(posted - start)
                    mine_s.append(end - posted)
        finally:
            await runner.cleanup()
    return confirm_ms, each_block_s, one_block_s, post_s, mine_s


def main():
    args = parser(__doc__).parse_args()
    runs, per_run, batch, batch_runs = (5, 4, 20, 1) if args.tiny else (args.runs, 40, 1000, args.runs)
    confirm_ms, each_block_s, one_block_s, post_s, mine_s = asyncio.run(measure(runs, per_run, batch, batch_runs))
    n = f"{batch:,}"
    rows = [
        row("POST /tx → confirmed (block_interval 0)", confirm_ms, "ms", target=f"≤ {TARGET_MS} ms median",
            met=statistics.median(confirm_ms) <= TARGET_MS, fmt="{:.1f}",
            note=f"{len(confirm_ms)} transactions"),
        row(f"{n} txs, a block each (block_interval 0)", each_block_s, "s"),
        row(f"{n} txs into the mempool, then one block: total", one_block_s, "s"),
        row(f"… of which {n} × POST /tx (mempool only)", post_s, "s"),
        row(f"… of which mining the {n}-tx block", mine_s, "s"),
    ]
    emit(args, rows, f"POST /tx → confirmed: {len(confirm_ms)} transactions ({runs} runs of {per_run}); "
                     f"min/median/max are over single transactions. The {n}-transaction rows: "
                     f"{batch_runs} run(s) each.")


if __name__ == "__main__":
    main()
