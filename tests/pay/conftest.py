"""The client's world: the real devnet, the toy API and the real paywall (streamium_paywall, as
tests/paywall runs it) in front of it, each over local HTTP in this process; a wallet file in a
temporary folder and a PayingClient over a real aiohttp session.

`@pytest.mark.paywall(**settings)` sets the paywall's Settings for one test. Blocks are mined
only when a test mines them. The paywall looks at an unconfirmed T1 every second and asks a
client to retry after one (10 s each in production) so that a test waits for the chain briefly.
"""

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from app.channel.addresses import address_script
from streamium_pay import PayingClient, Wallet
from streamium_paywall.service import GATE
from streamium_server.esplora_client import esplora
from tests.paywall.conftest import running

from .paywall_double import LyingPaywall


def pytest_configure(config):
    config.addinivalue_line("markers", "paywall(**settings): the real paywall's Settings for this test")


class World:
    def __init__(self, session, devnet, esplora_url, toy, paywall, wallet_path, answers):
        self.session, self.devnet, self.esplora_url, self.toy, self.paywall = session, devnet, esplora_url, toy, paywall
        self.origin, self.wallet_path = paywall.url, wallet_path
        self.api = esplora(esplora_url, session)
        self.wallet = Wallet.open(wallet_path, "regtest")
        self.said = []
        self.answers = answers  # (method, path, status) of every answer the session got

    @property
    def book(self):
        """The paywall's channels (`book.live`: every one it holds, offers included)."""
        return self.paywall.server.app[GATE].book

    async def settled(self, txid):
        """What the transaction `txid` pays the paywall's payout (a list), and whether change comes home."""
        outputs = await self.api.tx_outputs(txid)
        payout = address_script(self.paywall.payout, "regtest")
        return [value for script, value in outputs if bytes.fromhex(script) == payout], \
            any(bytes.fromhex(script) == self.wallet.script for script, _ in outputs)

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
async def world(tmp_path, request):
    marker = request.node.get_closest_marker("paywall")
    settings = {"chain_check_s": 1, **(marker.kwargs if marker else {})}  # the funding checked every second
    answers, trace = [], aiohttp.TraceConfig()

    async def answered(_session, _context, params):
        answers.append((params.method, params.url.path, params.response.status))
    trace.on_request_end.append(answered)
    async with running(tmp_path, **settings) as (devnet, toy, paywall, esplora_url), \
            aiohttp.ClientSession(trace_configs=[trace]) as session:
        w = World(session, devnet, esplora_url, toy, paywall, tmp_path / "wallet.json", answers)
        try:
            yield w
        finally:
            w.wallet.close()


@pytest.fixture
async def liar(world):
    """The paywall with a front that lies when told to: its origin is `liar.origin`."""
    front = LyingPaywall(world.paywall, world.session)
    async with TestServer(front.app()) as server:
        front.origin = str(server.make_url("")).rstrip("/")
        yield front
