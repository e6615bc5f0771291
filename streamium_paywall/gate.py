"""The paywall as aiohttp middleware (docs/http-payments.md): the 402 quote, the control plane,
each paid request checked, admitted, forwarded and charged only once the upstream answered,
with a K2-signed receipt. In front of any handler: the reverse proxy's, or an API's own.
"""

import asyncio
import hashlib
import json
import logging
import math
from collections import Counter

from aiohttp import web

from app.channel import CreditRefused, ProtocolError, Send, messages, states
from app.channel import transactions as txs
from app.channel.addresses import address_script
from app.channel.script import p2wpkh
from app.paid_http import (CHANNELS_PATH, IDEMPOTENCY_HEADER, PAYMENT_HEADER, PROBLEM_TYPE, RECEIPT_HEADER, Payment,
                           Receipt, WireError, idempotency_key, request_key)

from .book import ChainUnavailable, ChannelBook, TooManyChannels
from .prices import PriceList, Route

log = logging.getLogger("paywall")
CREDIT_STATUS = {"not_open": 409, "closed": 410, "expiring": 410, "no_credit": 402, "unconfirmed": 402}


def problem(status: int, reason: str, detail: str, retry_after=None, **extra) -> web.Response:
    """An RFC 9457 problem document; `streamium.reason` is what a client acts on."""
    body = {"type": f"https://streamium.invalid/problems/{reason}", "title": reason.replace("_", " ").capitalize(),
            "status": status, "detail": detail, "streamium": {"v": messages.VERSION, "reason": reason, **extra}}
    headers = {"Retry-After": str(math.ceil(retry_after))} if retry_after is not None else {}
    return web.Response(status=status, headers=headers, content_type=PROBLEM_TYPE, text=json.dumps(body))


def _message(status: int, msg: dict) -> web.Response:
    return web.json_response(msg, status=status)


def _unclear_target(request: web.Request):
    """Why the request target could name another resource than it seems to ('' if it cannot): the
    price is decided on the path, the target is forwarded as sent, so both must read the same."""
    raw = request.raw_path
    if not raw.startswith("/"):
        return "the request target must be a path (origin-form), not an absolute URL"
    raw_path = raw.split("?", 1)[0]
    if "//" in raw_path or "\\" in raw_path or any(code in raw_path.lower() for code in ("%2f", "%5c", "%2e")):
        return "the path must not hide separators or dots in escapes, nor hold empty segments"
    if any(segment in (".", "..") for segment in request.path.split("/")):
        return "the path must not hold . or .. segments"
    return ""


def _request_key(entry) -> bytes:
    """The channel's MAC key (one ECDH per channel, then kept)."""
    if entry.request_key is None:
        entry.request_key = request_key(entry.b.key.secret, entry.b.channel.viewer_pubkey)
    return entry.request_key


def _fingerprint(method: str, target: str, body: bytes) -> str:
    return hashlib.sha256(f"{method}:{target}:{hashlib.sha256(body).hexdigest()}".encode()).hexdigest()


def _body(response) -> bytes:
    body = getattr(response, "body", None)
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    raise TypeError("the paywall charges only for whole answers: the handler must answer with bytes")


class Paywall:
    def __init__(self, book: ChannelBook, prices: PriceList, upstream_timeout: float = 30.0,
                 metrics_path: str = "/metrics"):
        self.book, self.prices, self.upstream_timeout = book, prices, upstream_timeout
        self.metrics_path = metrics_path
        self.counts = Counter()
        terms = book.terms
        change = p2wpkh(bytes(33))
        self.terms_quote = {
            "payout_address": terms.payout_address, "min_deposit_sat": terms.min_deposit_sat,
            "min_payment_sat": terms.min_payment_sat, "fee_rate_sat_vb": terms.fee_rate_sat_vb,
            "refund_lock_s": terms.refund_lock_s, "max_unconfirmed_sat": terms.max_unconfirmed_sat,
            "confirmations": terms.confirmations, "settle_margin_s": terms.settle_margin_s,
            "close_fee_sat": txs.close_fee(address_script(terms.payout_address, terms.network), change,
                                           terms.fee_rate_sat_vb),
        }

    # ---- what comes in ------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        unclear = _unclear_target(request)
        if unclear:
            return problem(400, "bad_target", unclear)
        path = request.path
        if path == CHANNELS_PATH or path.startswith(CHANNELS_PATH + "/"):
            return await self.control(request)
        if self.metrics_path and path == self.metrics_path and request.method == "GET":
            return web.Response(text=self.metrics(), content_type="text/plain", charset="utf-8")
        if self.prices.is_free(path):
            self.counts["free"] += 1
            return await self._free(request, handler)
        route = self.prices.route(request.method, path)
        if route is None:
            return problem(403, "not_offered", f"{request.method} {path} is not offered here")
        header = request.headers.get(PAYMENT_HEADER)
        if header is None:
            self.counts["quoted"] += 1
            return self.quote(route)
        return await self.paid(request, handler, route, header)

    async def _free(self, request, handler) -> web.Response:
        """A free path: the API's answer, or a clear 502/504 when it gives none."""
        try:
            return await asyncio.wait_for(handler(request), self.upstream_timeout)
        except web.HTTPException:
            raise
        except asyncio.TimeoutError:
            return problem(504, "upstream_failed", "the API did not answer in time")
        except Exception as e:  # noqa: BLE001  (the API down, or a bug in it: said as one line)
            return problem(502, "upstream_failed", f"the API failed: {type(e).__name__}")

    def quote(self, route: Route) -> web.Response:
        terms = self.book.terms
        response = problem(402, "payment_required", f"{route} costs {route.price} sat per request",
                           price_sat=route.price, route=str(route), channels=CHANNELS_PATH, name=terms.name,
                           network=terms.network, identity_pubkey=self.book.identity_pubkey,
                           terms=self.terms_quote)
        response.headers["WWW-Authenticate"] = f'Streamium channels="{CHANNELS_PATH}"'
        return response

    # ---- a paid request (§4) --------------------------------------------------------------

    async def paid(self, request: web.Request, handler, route: Route, header: str) -> web.Response:
        book, now = self.book, self.book.now()
        try:
            payment = Payment.parse(header)
            key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
        except WireError as e:
            return self._refused(400, "bad_header", f"{PAYMENT_HEADER}: {e}")
        entry = book.get(payment.channel)
        if entry is None or entry.b.channel is None:
            return self._refused(404, "unknown_channel", "no channel with this key here: open one")
        b, body, target = entry.b, await request.read(), request.raw_path
        try:
            payment.verify(_request_key(entry), request.method, target, body, key)
        except ProtocolError:
            return self._refused(401, "bad_auth", "the payment header is not signed by this channel's client "
                                                  "for this request")
        fingerprint = _fingerprint(request.method, target, body) if key else ""  # compared only under a key
        if book.store.used(entry.k2, payment.seq):
            return self._refused(409, "replayed", f"seq {payment.seq} was used before on this channel",
                                 **self._state(b))
        stored = book.store.answer(entry.k2, key) if key else None
        # From here the header is used up, whatever the answer: a refused header never works later.
        claimed = book.store.claim(entry.k2, payment.seq, key if stored is None else "", fingerprint, now)
        if stored is not None:
            return await self._again(request, entry, payment, stored, fingerprint)
        refusal = self._admission(entry, payment, route, now)
        if refusal is not None:
            await book.store.finish(entry.k2, payment.seq, refusal.status, 0, now, idem=key)
            return refusal
        await claimed  # committed with a new voucher (queued with it, in the same turn) before the API is called
        return await self._deliver(request, handler, entry, payment, route, key)

    def _admission(self, entry, payment: Payment, route: Route, now: int):
        """None once `route.price` is reserved for this request, else the refusal (§4 steps 3, 6, 7)."""
        b = entry.b
        if b.state in b.PRE_OPEN_STATES:
            return self._refused(409, "not_open", "the channel is not open yet: send commit", **self._state(b))
        if b.state != states.OPEN or entry.closing:
            return self._refused(410, "closed", f"the channel is {'closing' if entry.closing else b.state}: "
                                                "open a new one", **self._state(b))
        wait = entry.bucket.take()
        if wait is not None:
            return self._refused(429, "rate_limited", "too many requests on this channel", retry_after=wait)
        refusal = self._take_voucher(entry, payment, route, now)
        if refusal is not None:
            return refusal
        if not b.funding_confirmed and self.book.unconfirmed_total() + route.price > self.book.options.unconfirmed_total:
            return self._refused(402, "unconfirmed", "this paywall carries no more on unconfirmed funding now",
                                 retry_after=self._unconfirmed_retry_s, **self._state(b))
        try:
            b.admit(route.price, now)
        except CreditRefused as e:
            retry = self._unconfirmed_retry_s if e.reason == "unconfirmed" else None
            return self._refused(CREDIT_STATUS[e.reason], e.reason, e.message, retry_after=retry, **self._state(b))
        return None

    def _take_voucher(self, entry, payment: Payment, route: Route, now: int):
        """A higher cumulative payment is the protocol's `pay`, checked and stored first; a lower one
        is one the client signed earlier, good only if it covers the channel's use so far."""
        b = entry.b
        if payment.amount > b.amount:
            actions = b.deliver(messages.message("pay", amount=payment.amount, sig=payment.voucher), now)
            refused = [a.message for a in actions if isinstance(a, Send) and a.message["type"] == "error"]
            if refused:
                return self._refused(400, "bad_payment", refused[0]["message"], **self._state(b))
            self.book.run_now(entry, actions)
        elif payment.amount < b.amount and b.spent + b.reserved + route.price > payment.amount:
            return self._refused(402, "stale_voucher", f"this payment of {payment.amount} sat does not cover "
                                                       "the channel's use so far: sign again", **self._state(b))
        return None

    async def _deliver(self, request, handler, entry, payment: Payment, route: Route, key: str) -> web.Response:
        """Call the upstream holding no lock; charge only for an answer below 500 (§4 step 9)."""
        b, price = entry.b, route.price
        try:
            response = await asyncio.wait_for(handler(request), self.upstream_timeout)
        except web.HTTPException as answer:  # a handler's HTTP answer is an answer
            headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
            response = web.Response(status=answer.status, reason=answer.reason, headers=headers, body=answer.body)
        except asyncio.TimeoutError:
            response = problem(504, "upstream_failed", "the API did not answer in time")
        except Exception as e:  # noqa: BLE001  (whatever the handler raised: not delivered, not charged)
            response = problem(502, "upstream_failed", f"the API failed: {type(e).__name__}")
        now = self.book.now()
        if getattr(response, "prepared", False):  # a handler that streamed: sent already, no receipt possible
            log.warning("%s %s streamed its answer: charged without a receipt", request.method, request.path)
            b.charge(price)
            await self.book.store.finish(entry.k2, payment.seq, response.status, price, now, idem=key)
            return response
        delivered = response.status < 500
        if delivered:
            b.charge(price)  # the ledger is the request's row, written below
            charged = price
        else:
            b.release(price)
            charged = 0
        body = _body(response)
        receipt = self._receipt(request, entry, payment, response.status, charged, body)
        keep = None
        if key and delivered:
            keep = ([[k, v] for k, v in response.headers.items() if k.lower() != "content-length"], body)
        await self.book.store.finish(entry.k2, payment.seq, response.status, charged, now, keep, idem=key)
        entry.last_used = now
        self.counts["charged" if delivered else "upstream_failed"] += 1
        response.headers[RECEIPT_HEADER] = receipt
        return response

    @staticmethod
    def _receipt(request, entry, payment: Payment, status: int, charged: int, body: bytes) -> str:
        """K2's receipt for this answer (a HEAD answer has no body, whatever the handler made)."""
        b = entry.b
        delivered = b"" if request.method == "HEAD" else body
        return Receipt.make(b.key, entry.k2, payment.seq, status, charged, b.spent, b.amount,
                            delivered).header()

    async def _again(self, request, entry, payment: Payment, stored, fingerprint: str) -> web.Response:
        """A retry under the same Idempotency-Key: the stored answer, charged nothing more, with a
        receipt for this retry's header."""
        now = self.book.now()
        if stored.fingerprint != fingerprint:
            refusal = self._refused(422, "idempotency_conflict", "this Idempotency-Key was used for another request")
        elif not stored.done:
            refusal = self._refused(409, "in_progress", "the request with this Idempotency-Key is still running",
                                    retry_after=1)
        else:
            refusal = None
        if refusal is not None:
            await self.book.store.finish(entry.k2, payment.seq, refusal.status, 0, now)
            return refusal
        self.counts["repeated"] += 1
        response = web.Response(status=stored.status, body=stored.body)
        for name, value in stored.headers:
            response.headers.add(name, value)
        receipt = self._receipt(request, entry, payment, stored.status, 0, stored.body)
        await self.book.store.finish(entry.k2, payment.seq, stored.status, 0, now)
        response.headers[RECEIPT_HEADER] = receipt
        return response

    @property
    def _unconfirmed_retry_s(self) -> int:
        """A request refused for unconfirmed funding may try again once the chain was asked again."""
        return self.book.terms.pay_interval_s

    def _refused(self, status, reason, detail, retry_after=None, **extra) -> web.Response:
        self.counts["refused"] += 1
        return problem(status, reason, detail, retry_after, **extra)

    @staticmethod
    def _state(b) -> dict:
        """What a client needs to resynchronise (a corrective 402)."""
        return {"state": b.state, "signed": b.amount, "spent": b.spent, "reserved": b.reserved,
                "funding_confirmed": b.funding_confirmed}

    # ---- the control plane (§3) -----------------------------------------------------------

    async def control(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return problem(405, "method_not_allowed", "the control plane takes POST")
        raw, book = await request.read(), self.book
        try:
            msg = messages.parse_message(raw or b'{"v": 2, "type": "hello"}')
        except ProtocolError as e:
            return _message(400, messages.error(e.code, e.message))
        if request.path == CHANNELS_PATH:
            if msg["type"] != "hello":
                return _message(400, messages.error("bad_message", "a new channel starts with hello"))
            try:
                return _message(201, await book.new_channel(request.remote or ""))
            except TooManyChannels as e:
                return problem(503, "too_many_channels", str(e), retry_after=60)
        entry = book.get(request.path[len(CHANNELS_PATH) + 1:])
        if entry is None:
            return problem(404, "unknown_channel", "no channel with this key here")
        if msg["type"] not in ("open", "commit", "close"):
            return _message(400, messages.error("bad_message", "a channel here takes open, commit and close"))
        if msg["type"] == "close":
            refusal = await self._authenticate(request, entry, raw)
            if refusal is not None:
                return refusal
        async with entry.control:
            if msg["type"] == "close" and entry.b.state == states.OPEN:
                await self._drain(entry)
                refusal = self._uncovered(entry, msg)
                if refusal is not None:
                    entry.closing = False
                    return refusal
            try:
                sent = await book.carry_out(entry, entry.b.deliver(msg, book.now()))
            except ChainUnavailable as e:
                return problem(503, "chain_unavailable", f"{e}; send it again", retry_after=10)
            finally:
                entry.closing = False
        answer = self._control_answer(entry, sent)
        if answer.status < 300:
            entry.last_used = book.now()
        return answer

    def _uncovered(self, entry, msg):
        """A close the core would settle on the best payment instead (its amount short of what was
        charged, above what was paid, or not K1's signature): refused, so that an honest client
        re-signs rather than overpays. The channel stays open."""
        b = entry.b
        if not b.amount:
            return None
        if "amount" not in msg:
            return problem(409, "close_not_exact", "with a payment on the channel, close carries amount and sig "
                                                   "(the amount spent)", **self._state(b))
        if not b.covers(msg["amount"], msg["sig"], self.book.now()):
            least = max(b.offer.terms.min_payment_sat, b.owed(self.book.now()))
            return problem(409, "close_not_exact", f"close for an amount from {least} to {b.amount} sat, signed "
                                                   "by the channel's key", **self._state(b))
        return None

    async def _drain(self, entry) -> None:
        """Before a close: admit no more requests and let those in flight finish (each within the
        upstream timeout), so the close settles on every charge and nothing is served after it."""
        entry.closing = True
        deadline = asyncio.get_running_loop().time() + self.upstream_timeout + 1
        while entry.b.reserved and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    async def _authenticate(self, request, entry, raw: bytes):
        """A close proves K1 with a payment header for this very request (§3)."""
        header = request.headers.get(PAYMENT_HEADER)
        if header is None or entry.b.channel is None:
            return problem(401, "bad_auth", f"a close needs the {PAYMENT_HEADER} header of the channel's client")
        try:
            payment = Payment.parse(header)
            key = idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
            if payment.channel != entry.k2:
                raise WireError("the header names another channel")
            payment.verify(_request_key(entry), request.method, request.raw_path, raw, key)
        except (WireError, ProtocolError):
            return problem(401, "bad_auth", "the close is not signed by this channel's client")
        store = self.book.store
        if store.used(entry.k2, payment.seq):
            return problem(409, "replayed", f"seq {payment.seq} was used before on this channel")
        await store.claim(entry.k2, payment.seq, "", "", self.book.now())
        return None

    @staticmethod
    def _control_answer(entry, sent) -> web.Response:
        by_type = {m["type"]: m for m in sent}
        if "error" in by_type:
            status = 409 if by_type["error"]["code"] in ("not_open", "channel_closed") else 400
            return _message(status, by_type["error"])
        b = entry.b
        if "closed" in by_type:  # and what it settled on: the client can check it is what it sent
            return _message(200, {**by_type["closed"], "amount": b.amount, "spent": b.spent})
        for kind in ("release", "commit_ack", "refund_sig"):
            if kind in by_type:
                return _message(200, by_type[kind])
        if b.state == states.REFUND_SIGNED and b.funding_confirmations is not None:
            return _message(202, {"v": messages.VERSION, "waiting": "confirmations",
                                  "confirmations": b.funding_confirmations, "needed": b.offer.terms.confirmations})
        if b.state in (states.CLOSING, states.SETTLING) and b.closing_txid:
            return _message(202, {"v": messages.VERSION, "waiting": "publication", "txid": b.closing_txid})
        return _message(202, {"v": messages.VERSION, "waiting": "chain"})

    # ---- /metrics ----------------------------------------------------------------------------

    def metrics(self) -> str:
        """Prometheus text format: revenue, channels by state, outstanding credit, time to settle."""
        book, now = self.book, self.book.now()
        live = [e.b for e in book.live.values()]
        open_ = [b for b in live if b.state == states.OPEN]
        lines = [
            "# HELP streamium_paywall_revenue_sat_total Sat charged for requests served.",
            "# TYPE streamium_paywall_revenue_sat_total counter",
            f"streamium_paywall_revenue_sat_total {book.store.revenue}",
            "# HELP streamium_paywall_channels Channels stored here, by state.",
            "# TYPE streamium_paywall_channels gauge",
        ]
        by_state = Counter(b.state for b in live)
        lines += [f'streamium_paywall_channels{{state="{s}"}} {by_state.get(s, 0)}'
                  for s in (states.OFFERED, states.REFUND_SIGNED, states.OPEN, states.CLOSING, states.SETTLING)]
        lines += [
            "# HELP streamium_paywall_outstanding_credit_sat Signed but not yet spent, over open channels.",
            "# TYPE streamium_paywall_outstanding_credit_sat gauge",
            f"streamium_paywall_outstanding_credit_sat {sum(b.amount - b.spent for b in open_)}",
            "# HELP streamium_paywall_deposits_sat Capacity of the open channels.",
            "# TYPE streamium_paywall_deposits_sat gauge",
            f"streamium_paywall_deposits_sat {sum(b.channel.value for b in open_)}",
            "# HELP streamium_paywall_seconds_to_settle Until the soonest open channel must settle (L - margin).",
            "# TYPE streamium_paywall_seconds_to_settle gauge",
            f"streamium_paywall_seconds_to_settle {min((b.channel.settle_at - now for b in open_), default=0)}",
            "# HELP streamium_paywall_requests_total Requests by outcome.",
            "# TYPE streamium_paywall_requests_total counter",
        ]
        lines += [f'streamium_paywall_requests_total{{result="{k}"}} {self.counts.get(k, 0)}'
                  for k in ("charged", "free", "quoted", "refused", "repeated", "upstream_failed")]
        return "\n".join(lines) + "\n"
