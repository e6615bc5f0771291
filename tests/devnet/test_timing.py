"""Measures (does not assert) the figures quoted in docs/devnet.md; run with -s to see them."""

import time

import pytest
from aiohttp import web

from streamium_server.devnet import make_devnet_app
from streamium_server.devnet.wallet import Key, Prevout

pytestmark = pytest.mark.asyncio


async def test_measure_post_tx_to_confirmed_and_mining_100_blocks(aiohttp_client, tmp_path):
    root = web.Application()
    root.add_subapp("/api", make_devnet_app(tmp_path, block_interval=0))
    api = await aiohttp_client(root)
    key = Key()
    resp = await api.post("/api/devnet/faucet", json={"address": key.address, "amount_sat": 10**8})
    txid = (await resp.json())["txid"]
    out = next(i for i, o in enumerate((await (await api.get(f"/api/tx/{txid}")).json())["vout"])
               if o["scriptpubkey_address"] == key.address)
    spend = key.spend([Prevout(txid, out, 10**8)], [(key.script_pubkey, 10**8 - 500)])

    start = time.perf_counter()
    posted = await (await api.post("/api/tx", data=spend.serialize().hex())).text()
    status = await (await api.get(f"/api/tx/{posted}/status")).json()
    confirm_s = time.perf_counter() - start
    assert status["confirmed"]

    start = time.perf_counter()
    mined = await (await api.post("/api/devnet/mine", json={"blocks": 100})).json()
    mine_s = time.perf_counter() - start
    assert len(mined["block_hashes"]) == 100
    print(f"\nPOST /tx -> confirmed (block_interval 0): {confirm_s * 1000:.1f} ms; "
          f"mining 100 blocks: {mine_s * 1000:.0f} ms")
