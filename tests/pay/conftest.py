"""The client's world: the real devnet and a paywall double behind one local HTTP server, a
wallet file in a temporary folder, and a PayingClient over a real aiohttp session."""

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streamium_pay import PayingClient, Wallet
from streamium_server.devnet import DEVNET, make_devnet_app
from streamium_server.esplora_client import esplora

from .paywall_double import PaywallDouble


class World:
    def __init__(self, server, session, devnet, double, wallet_path):
        self.origin = str(server.make_url("")).rstrip("/")
        self.session, self.devnet, self.double, self.wallet_path = session, devnet, double, wallet_path
        self.api = double.api
        self.wallet = Wallet.open(wallet_path, "regtest")
        self.said = []

    def client(self, **options) -> PayingClient:
        return PayingClient(self.wallet, self.api, self.session, say=self.said.append, **options)

    def fund(self, amount=200_000):
        self.devnet.send_from_faucet(self.wallet.address, amount)

    def reopen(self) -> Wallet:
        """The wallet as a new process would load it."""
        self.wallet.close()
        self.wallet = Wallet.open(self.wallet_path, "regtest")
        return self.wallet


@pytest.fixture
async def world(tmp_path):
    devnet_app = make_devnet_app(tmp_path / "devnet", block_interval=0)
    root = web.Application()
    root.add_subapp("/api", devnet_app)
    async with aiohttp.ClientSession() as session:
        double = PaywallDouble(None)
        double.add_routes(root.router)
        server = TestServer(root)
        await server.start_server()
        double.api = esplora(str(server.make_url("/api")), session)
        w = World(server, session, devnet_app[DEVNET], double, tmp_path / "wallet.json")
        try:
            yield w
        finally:
            w.wallet.close()
            await server.close()
