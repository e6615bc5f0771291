"""serve.py's devnet links transactions to a readable page (/explorer/tx/<txid>): status,
inputs, outputs and what spent them, with everything from the chain escaped."""

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamium_server.app import ServerOptions, make_app
from streamium_server.devnet.explorer import page

ROOT = Path(__file__).resolve().parent.parent.parent
ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture
async def client(tmp_path):
    options = ServerOptions(root=ROOT, data_dir=tmp_path / "devnet", block_interval=0)
    async with TestClient(TestServer(make_app(options))) as c:
        yield c


async def test_the_devnet_links_transactions_to_a_readable_page(client):
    config = await (await client.get("/config.json")).json()
    assert config["explorer"] == "/explorer"
    paid = await (await client.post("/api/devnet/faucet", json={"address": ADDRESS, "amount_sat": 12_345})).json()
    answer = await client.get(f"{config['explorer']}/tx/{paid['txid']}")
    text = await answer.text()
    assert answer.status == 200 and answer.content_type == "text/html"
    assert paid["txid"] in text and ADDRESS in text and "12,345 sats" in text
    assert "Confirmed in block" in text and "unspent" in text
    assert (await client.get(f"/explorer/tx/{'ab' * 32}")).status == 404
    assert (await client.get("/explorer/tx/nothex")).status == 400


def test_nothing_from_the_chain_becomes_markup():
    evil = "<script>alert(1)</script>"
    tx = {"txid": "ab" * 32, "status": {"confirmed": False}, "fee": 1, "weight": 4, "size": 1,
          "vin": [{"txid": "cd" * 32, "vout": 0, "prevout": {"scriptpubkey_address": evil, "value": 5}}],
          "vout": [{"scriptpubkey_type": evil, "value": 4}]}
    html = page(tx, [{"spent": False}], 100)
    assert evil not in html and "&lt;script&gt;" in html
