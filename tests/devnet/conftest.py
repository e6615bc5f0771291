import pytest
from aiohttp import web

from streamium_server.devnet import DEVNET, make_devnet_app
from streamium_server.devnet.wallet import Key, Prevout


@pytest.fixture
def devnet_app(tmp_path):
    """A devnet that mines only on request."""
    return make_devnet_app(tmp_path / "devnet", block_interval=3600)


@pytest.fixture
async def api(aiohttp_client, devnet_app):
    """A test client with the devnet mounted at /api, as serve.py mounts it."""
    root = web.Application()
    root.add_subapp("/api", devnet_app)
    return await aiohttp_client(root)


@pytest.fixture
def devnet(api, devnet_app):
    return devnet_app[DEVNET]


@pytest.fixture
def fund(api):
    """fund(value) -> (Key, Prevout): a fresh key with one confirmed coin."""

    async def fund(value=10**8):
        key = Key()
        resp = await api.post("/api/devnet/faucet", json={"address": key.address, "amount_sat": value})
        assert resp.status == 200, await resp.text()
        txid = (await resp.json())["txid"]
        assert (await api.post("/api/devnet/mine", json={"blocks": 1})).status == 200
        tx = await (await api.get(f"/api/tx/{txid}")).json()
        vout = next(i for i, o in enumerate(tx["vout"]) if o.get("scriptpubkey_address") == key.address)
        return key, Prevout(txid, vout, value)

    return fund
