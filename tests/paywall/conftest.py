"""A paywall in front of a toy API, both served in-process over real HTTP, on a real devnet whose
blocks Bitcoin Core's consensus code checks; and a client that drives the core's metered Viewer
by hand, so each rule of docs/http-payments.md can be broken on purpose."""

import contextlib
import json
import os
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.channel import Viewer, build_link, new_secret
from app.channel.actions import Send
from app.paid_http import CHANNELS_PATH, PAYMENT_HEADER, RECEIPT_HEADER, Payment, Receipt, request_key
from streamium_paywall.book import Options
from streamium_paywall.prices import PriceList, Route
from streamium_paywall.service import Settings, proxy, setup
from streamium_server.devnet import DEVNET, make_devnet_app
from tests.browser.e2e_support import regtest_address
from tests.paywall.toy_api import ToyApi

PRICE = 10


class PaywallUnderTest:
    def __init__(self, tmp_path, esplora_url, upstream_url, **overrides):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.db = str(tmp_path / "paywall.sqlite3")
        self.payout = regtest_address()
        self.esplora_url, self.upstream_url, self.overrides = esplora_url, upstream_url, overrides
        self.server = None

    async def start(self):
        options = self.overrides.get("options", Options(buried=1))
        fields = dict(prices=PriceList((Route.parse(f"* /v1/*={PRICE}"),), ("/health",)),
                      payout_address=self.payout, network="regtest", esplora=self.esplora_url, db=self.db,
                      name="Toy API", fee_rate=2, min_deposit_sat=5000, refund_lock_s=86_400)
        chosen = {k: v for k, v in self.overrides.items() if k != "options"}
        settings = Settings(**{**fields, **chosen, "channels": options})
        app = web.Application()
        setup(app, settings)
        proxy(app, self.upstream_url)
        self.server = TestServer(app)
        await self.server.start_server()
        self.url = str(self.server.make_url("")).rstrip("/")
        return self

    async def stop(self):
        await self.server.close()


class RawClient:
    """A client made of the core's Viewer and the wire module, nothing more."""

    def __init__(self, session, base, devnet):
        self.session, self.base, self.devnet = session, base, devnet
        self.secret = new_secret(os.urandom)
        self.change = regtest_address()
        self.v = None
        self.seq = 0

    async def post(self, path, body, headers=None):
        async with self.session.post(self.base + path, data=json.dumps(body), headers=headers or {}) as r:
            return r.status, json.loads(await r.text())

    def carry(self, actions):
        """The viewer's messages to send (its records are kept in memory)."""
        return [a.message for a in actions if isinstance(a, Send)]

    async def open(self, capacity=20_000, mine=True):
        status, offer = await self.post(CHANNELS_PATH, {"v": 2, "type": "hello"})
        assert status == 201, offer
        self.k2 = offer["channel_pubkey"]
        link = build_link("http://paywall", offer["name"], offer["identity_pubkey"])
        self.v = Viewer.new(link, "regtest", self.secret, metered=True)
        now = int(time.time())
        self.v.receive(offer, now)
        funding = self.v.accept(capacity, self.change, now)[-1]
        txid = self.devnet.send_from_faucet(funding.address, funding.amount)
        vout = next(i for i, o in enumerate(self.devnet.mempool.entries[txid].tx.vout) if o.value == funding.amount)
        if mine:
            self.devnet.mine(1)
        (open_msg,) = self.carry(self.v.funded([{"txid": txid, "vout": vout, "value": funding.amount}], now))
        status, refund_sig = await self.post(f"{CHANNELS_PATH}/{self.k2}", open_msg)
        assert status == 200, refund_sig
        (commit,) = self.carry(self.v.receive(refund_sig, now))
        status, ack = await self.post(f"{CHANNELS_PATH}/{self.k2}", commit)
        assert (status, ack["type"]) == (200, "commit_ack"), ack
        self.v.receive(ack, now)
        assert self.v.state == "open"
        return self

    def authorize(self, amount):
        self.v.authorize(amount, int(time.time()))

    def header(self, method, target, body=b"", key="", amount=None, voucher=None, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        amount = self.v.amount if amount is None else amount
        voucher = self.v.pay_sig if voucher is None else voucher
        return Payment.make(request_key(self.secret, self.k2), self.k2, seq, amount, voucher, method, target, body,
                            key).header()

    async def request(self, method, target, body=b"", headers=None, **header_args):
        headers = dict(headers or {})
        if PAYMENT_HEADER not in headers:
            headers[PAYMENT_HEADER] = self.header(method, target, body, headers.get("Idempotency-Key", ""),
                                                  **header_args)
        async with self.session.request(method, self.base + target, data=body, headers=headers) as r:
            data = await r.read()
            receipt = r.headers.get(RECEIPT_HEADER)
            if receipt:
                receipt = Receipt.parse(receipt)
                receipt.verify(data)
                assert receipt.channel == self.k2
            return r.status, data, receipt

    async def close(self, amount):
        (msg,) = self.carry(self.v.close(int(time.time()), amount))
        body = json.dumps(msg).encode()
        target = f"{CHANNELS_PATH}/{self.k2}"
        headers = {PAYMENT_HEADER: self.header("POST", target, body), "Content-Type": "application/json"}
        async with self.session.post(self.base + target, data=body, headers=headers) as r:
            return r.status, json.loads(await r.text())


@contextlib.asynccontextmanager
async def another_paywall(world, tmp_path, options):
    """A second paywall on the same chain and API, with other channel options."""
    paywall = world[2]
    other = await PaywallUnderTest(tmp_path, paywall.esplora_url, paywall.upstream_url, options=options).start()
    try:
        yield other
    finally:
        await other.stop()


@contextlib.asynccontextmanager
async def running(tmp_path, **settings):
    """(devnet, toy API, paywall, its esplora URL): the devnet mines only when told; `settings`
    are the paywall's (Settings fields, `options` for its channels)."""
    devnet_app = make_devnet_app(tmp_path / "devnet", block_interval=3600)
    root = web.Application()
    root.add_subapp("/api", devnet_app)
    chain = TestServer(root)
    await chain.start_server()
    toy = ToyApi()
    upstream = TestServer(toy.app())
    await upstream.start_server()
    esplora_url = str(chain.make_url("/api"))
    paywall = PaywallUnderTest(tmp_path / "paywall", esplora_url, str(upstream.make_url("")).rstrip("/"), **settings)
    await paywall.start()
    try:
        yield devnet_app[DEVNET], toy, paywall, esplora_url
    finally:
        await paywall.stop()
        await upstream.close()
        await chain.close()


@pytest.fixture
async def world(tmp_path):
    """(devnet, toy API, paywall, HTTP session): everything real but the clock of the blocks."""
    async with running(tmp_path) as (devnet, toy, paywall, _), aiohttp.ClientSession() as session:
        yield devnet, toy, paywall, session


@pytest.fixture
async def client(world):
    devnet, _, paywall, session = world
    return await RawClient(session, paywall.url, devnet).open()
