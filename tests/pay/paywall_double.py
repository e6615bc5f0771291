"""A stand-in for the paywall, for the client's tests only: the server side of
docs/http-payments.md reduced to what a test needs (one price, in memory, no idempotency, no
rate limit), over the core's metered Broadcaster and the real devnet. `cheat` makes it break
the binding in one chosen way. It is not streamium_paywall."""

import json
import os
import time

from aiohttp import web

from app.channel import Broadcaster, CreditRefused, LookUpInputs, Send, Terms, new_secret
from app.channel import Broadcast, message
from app.channel.addresses import script_address
from app.channel.script import p2wpkh
from app.channel.signatures import private_key
from app.chain_watch import input_values
from app.paid_http import CHANNELS_PATH, PAYMENT_HEADER, PROBLEM_TYPE, RECEIPT_HEADER, Payment, Receipt

PRICE = 10
ROUTE = "GET /v1/*"


class PaywallDouble:
    def __init__(self, api, seed: bytes = b"\x07" * 32):
        self.api, self.identity = api, seed
        payout = script_address(p2wpkh(private_key(b"\x09" * 32).sec()), "regtest")
        self.terms = Terms(name="double", network="regtest", rate_sat_per_min=PRICE, payout_address=payout,
                           min_deposit_sat=5000, min_payment_sat=294, fee_rate_sat_vb=2, refund_lock_s=3600,
                           max_unconfirmed_sat=100_000)
        self.channels = {}  # K2 -> Broadcaster
        self.hellos = 0
        self.cheat = None  # "other_key", "other_body", "overcharge", "no_receipt", "refuse_open"

    def add_routes(self, router):
        router.add_post(CHANNELS_PATH, self.hello)
        router.add_post(CHANNELS_PATH + "/{k2}", self.control)
        router.add_get("/v1/{tail:.*}", self.paid)
        router.add_get("/free", self.free)

    async def free(self, request):
        return web.Response(text="free")

    def quote(self, reason="payment_required", status=402, **extra):
        identity = private_key(self.identity).sec().hex()
        t = self.terms
        body = {"type": "https://streamium.invalid/problems/" + reason, "title": reason, "status": status,
                "detail": f"{ROUTE} costs {PRICE} sat", "streamium": {
                    "v": 2, "reason": reason, "price_sat": PRICE, "route": ROUTE, "channels": CHANNELS_PATH,
                    "name": t.name, "network": t.network, "identity_pubkey": identity, **extra,
                    "terms": {"payout_address": t.payout_address, "min_deposit_sat": t.min_deposit_sat,
                              "min_payment_sat": t.min_payment_sat, "fee_rate_sat_vb": t.fee_rate_sat_vb,
                              "refund_lock_s": t.refund_lock_s, "max_unconfirmed_sat": t.max_unconfirmed_sat,
                              "confirmations": t.confirmations, "close_fee_sat": 169,
                              "settle_margin_s": t.settle_margin_s}}}
        return web.Response(status=status, body=json.dumps(body).encode(), content_type=PROBLEM_TYPE)

    async def run(self, b, actions, now):
        """Carry out the broadcaster's actions; the messages it sends."""
        sent = []
        for action in actions:
            if isinstance(action, Send):
                sent.append(action.message)
            elif isinstance(action, LookUpInputs):
                values = await input_values(self.api, action.outpoints)
                sent += await self.run(b, b.funding_inputs(values, now), now)
            elif isinstance(action, Broadcast):
                await self.api.broadcast(action.tx, action.txid)
                sent += await self.run(b, b.tx_accepted(action.txid, now), now)
        return sent

    async def hello(self, request):
        self.hellos += 1
        b = Broadcaster.new(self.terms, self.identity, new_secret(os.urandom), metered=True)
        offer, = await self.run(b, b.deliver(await request.read(), 0), 0)
        self.channels[b.offer.channel_pubkey] = b
        return web.json_response(offer, status=201)

    async def control(self, request):
        if self.cheat == "refuse_open":
            return web.json_response(message("error", code="bad_funding", message="no"), status=400)
        b = self.channels[request.match_info["k2"]]
        body, now = await request.read(), int(time.time())
        if json.loads(body)["type"] == "close":
            Payment.parse(request.headers[PAYMENT_HEADER]).verify(b.channel.viewer_pubkey, "POST", request.raw_path,
                                                                  body, "")
        sent = await self.run(b, b.deliver(body, now), now)
        answers = [m for m in sent if m["type"] not in ("pay_ack", "end")]
        if not answers:
            return web.json_response({"waiting": "confirmations"}, status=202)
        return web.json_response(answers[-1], status=400 if answers[-1]["type"] == "error" else 200)

    async def paid(self, request):
        header = request.headers.get(PAYMENT_HEADER)
        if header is None:
            return self.quote()
        p = Payment.parse(header)
        b, body, now = self.channels[p.channel], await request.read(), int(time.time())
        p.verify(b.channel.viewer_pubkey, request.method, request.raw_path, body, "")
        if p.amount > b.amount:
            sent = await self.run(b, b.deliver(message("pay", amount=p.amount, sig=p.voucher), now), now)
            assert all(m["type"] != "error" for m in sent), sent
        try:
            b.admit(PRICE, now)
        except CreditRefused as e:
            refusal = self.quote(e.reason, status=410 if e.reason in ("closed", "expiring") else 402,
                                 signed=b.amount, spent=b.spent)
            refusal.headers["Retry-After"] = "1"
            return refusal
        b.charge(PRICE)
        answer = ("paid " + request.path).encode()
        key, signed = b.key.secret, b.amount
        charged = PRICE + 1 if self.cheat == "overcharge" else PRICE
        receipt = Receipt.make(b"\x05" * 32 if self.cheat == "other_key" else key, p.channel, p.seq, 200, charged,
                               b.spent, signed, b"other" if self.cheat == "other_body" else answer)
        headers = {} if self.cheat == "no_receipt" else {RECEIPT_HEADER: receipt.header()}
        return web.Response(body=answer, headers=headers)
