"""An HTTP client that pays per request over Streamium channels (docs/http-payments.md §4–5).

`PayingClient.request` works like aiohttp's: a route the client knows no price for is sent
unpaid; a 402 answer's quote opens (or tops up the price list of) a channel with that server;
a paid request carries a voucher signed a few requests ahead and K1's signature over the
request itself, and its answer must carry K2's receipt for that very body.

Money rules: `max_price` and `budget` are checked before anything is signed; each request's
sequence number and expected spend are taken without awaiting anything, so requests run in
parallel on one channel; every receipt is verified and a bad one stops the channel.
"""

import asyncio
import json as json_module
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from email.message import Message
from typing import Callable, Optional
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from app.channel import ProtocolError, states
from app.channel.errors import BAD_PAYMENT
from app.channel.signatures import public_key
from app.esplora import retry_after
from app.paid_http import IDEMPOTENCY_HEADER, PAYMENT_HEADER, RECEIPT_HEADER, Payment, Receipt, WireError, \
    idempotency_key, request_key, route_matches

from . import closing, opening
from .control import Control
from .errors import BadAnswer, BudgetExceeded, PayError, PriceRefused, ServerRefused, Unreachable
from .quote import Quote, problem, reason
from .wallet import ChannelEntry, Wallet

log = logging.getLogger(__name__)

DEFAULT_WAIT_S = 5  # when a refusal asks to wait and gives no Retry-After
REFUSALS = {"payment_required", "bad_header", "unknown_channel", "bad_auth", "rate_limited", "replayed",
            "idempotency_conflict", "in_progress", "bad_payment", "stale_voucher", "no_credit", "unconfirmed",
            "expiring", "closed", "not_open", "too_many_channels"}  # the paywall's own answers: nothing was charged
RETIRING = {"closed", "expiring", "unknown_channel"}  # a new channel, the old one left to its refund


@dataclass
class PaidResponse:
    """An answer, read whole; `receipt` is the verified receipt, None on a free route."""

    status: int
    headers: CIMultiDictProxy
    body: bytes
    receipt: Optional[Receipt] = None

    def text(self, encoding: Optional[str] = None) -> str:
        kind = Message()
        kind["Content-Type"] = self.headers.get("Content-Type", "")
        return self.body.decode(encoding or kind.get_content_charset() or "utf-8", errors="replace")

    def json(self):
        return json_module.loads(self.body)

    @property
    def refusal(self) -> Optional[str]:
        """The paywall's reason when it refused the request itself (nothing was charged)."""
        found = reason(problem(self.headers.get("Content-Type", "").split(";")[0].strip(), self.body))
        return found if found in REFUSALS and (self.receipt is None or self.receipt.charged == 0) else None


@dataclass(frozen=True)
class Prepared:
    """A request as it goes on the wire: the URL encoded once, the body as bytes."""

    method: str
    url: URL  # encoded=True: aiohttp sends raw_path_qs as it is
    body: bytes
    headers: CIMultiDict
    idempotency_key: str

    @property
    def origin(self) -> str:
        return str(self.url.origin())

    @property
    def target(self) -> str:
        """The request target K1 signs: path and query exactly as sent."""
        return self.url.raw_path_qs


def prepare(method: str, url: str, data=None, json=None, headers=None, params=None) -> Prepared:
    """The request's exact bytes, which K1 signs; a body the client cannot know in advance
    (a stream, a multipart form) is refused."""
    wire = URL(url)
    if params:
        wire = wire.extend_query(params)
    if wire.scheme not in ("http", "https") or not wire.host:
        raise ValueError(f"not an http(s) URL: {url}")
    headers = CIMultiDict(headers or {})
    if data is not None and json is not None:
        raise ValueError("data and json cannot both be given")
    if json is not None:
        body = json_module.dumps(json).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(data, dict):
        body = urlencode(data).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif isinstance(data, str):
        body = data.encode()
    elif isinstance(data, (bytes, bytearray)) or data is None:
        body = bytes(data or b"")
    else:
        raise TypeError("data must be bytes, str or a dict: the body is signed, so it must be known in advance")
    try:
        key = idempotency_key(headers.get(IDEMPOTENCY_HEADER))
    except WireError as e:
        raise ValueError(str(e)) from None
    return Prepared(method.upper(), URL(str(wire), encoded=True), body, headers, key)


class PayingClient:
    """Pays for HTTP requests from `wallet`, over `session`, publishing through `api` (Esplora).

    `max_price`: the most one request may cost (sat); `budget`: the most this client signs,
    over all its channels; `deposit`: a new channel's capacity (default: 200 requests and the
    close fee); `prepay`: how many requests ahead the voucher is signed, at least (four times
    the requests in flight when more are sent in parallel). `say(text)` hears what
    the user should know while it waits.
    """

    def __init__(self, wallet: Wallet, api, session: aiohttp.ClientSession, max_price: Optional[int] = None,
                 budget: Optional[int] = None, deposit: Optional[int] = None, prepay: int = 8,
                 say: Optional[Callable[[str], None]] = None, clock: Callable[[], float] = time.time):
        if prepay < 1:
            raise ValueError("prepay must be at least 1 request")
        self.wallet, self.max_price, self.budget, self.deposit, self.prepay = wallet, max_price, budget, deposit, prepay
        self.control = Control(wallet, api, session, say or log.info, clock)
        self.signed = 0  # sat this client signed, over all its channels
        self._expected = {}  # K2 -> spent plus the price of every request in flight
        self._locks = defaultdict(asyncio.Lock)  # origin -> held while a channel is found or opened
        self._waiting = defaultdict(int)  # what requests wait for -> how many (told once, not per request)
        self._keys = {}  # K2 -> the channel's request MAC key (one ECDH per channel)
        self._k2s = {}  # K2 -> its parsed public key, for the receipts

    async def get(self, url: str, **kw) -> PaidResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, data=None, json=None, **kw) -> PaidResponse:
        return await self.request("POST", url, data=data, json=json, **kw)

    async def request(self, method: str, url: str, *, data=None, json=None, headers=None, params=None,
                      timeout: Optional[aiohttp.ClientTimeout] = None) -> PaidResponse:
        """Send the request, paying for it if its route is priced."""
        req = prepare(method, url, data, json, headers, params)
        learned = resigned = renewed = force = False
        while True:
            entry = await self._channel(req.origin)
            price = entry and _price(entry, req)
            if price is None:
                answer = await self._send(req, None, timeout)
                if answer.status != 402:
                    return answer
                if learned:
                    raise BadAnswer(f"{req.origin} asks payment again for a route it just priced")
                learned = True
                await self._learn(req.origin, entry, self._quote(answer))
                continue
            try:
                answer = await self._paid(entry, req, price, timeout, force)
            except _Exhausted:
                if renewed:
                    raise PayError(f"a new channel with {req.origin} cannot pay this request either") from None
                renewed, learned = True, False
                continue
            why, force = answer.refusal, False
            if why is None:
                return answer
            if why == "payment_required" and not learned:
                learned = True
                await self._learn(req.origin, entry, self._quote(answer))
            elif why in ("no_credit", "stale_voucher") and not resigned:
                resigned = force = True  # the next try signs more than before, once
            elif why in ("unconfirmed", "rate_limited"):
                await self._wait(answer, "the funding transaction to confirm" if why == "unconfirmed"
                                 else "the server's rate limit")
            elif why in RETIRING and not renewed:
                renewed, learned = True, False
                self._retire(entry, f"the server says {why}")
            else:
                raise ServerRefused(f"{req.origin} refused the paid request: {why}: {_detail(answer)}")

    async def close_channel(self, origin: str) -> Optional[str]:
        """Settle every channel with `origin` now; the txid of the last one settled."""
        origin = str(URL(origin).origin())
        entries = [e for e in self.wallet.of_origin(origin) if closing.closable(e)]
        if not entries:
            raise PayError(f"no channel with {origin} to close")
        txid = None
        async with self._locks[origin]:
            for entry in entries:
                txid = await closing.close(self.control, entry) or txid
        return txid

    def flush(self) -> None:
        """Store the receipts seen since the last write (each voucher signed is stored at once)."""
        self.wallet.save()

    # ---- channels --------------------------------------------------------------

    async def _channel(self, origin: str) -> Optional[ChannelEntry]:
        """The open channel with `origin`, taking up an open cut short; None if there is none."""
        async with self._locks[origin]:
            live = [e for e in self.wallet.of_origin(origin) if not e.retired]
            for entry in live:
                if entry.viewer.state in (states.FUNDING, states.REFUND_SIGNED):
                    await opening.resume(self.control, entry)
            return _usable(self.wallet, origin)

    async def _learn(self, origin: str, entry: Optional[ChannelEntry], quote: Quote) -> None:
        """A route's price from a 402: refused above max_price, else kept (opening a channel first)."""
        if self.max_price is not None and quote.price_sat > self.max_price:
            raise PriceRefused(f"{quote.route} costs {quote.price_sat} sat per request, more than the "
                               f"--max-price of {self.max_price} sat: nothing was paid")
        self.wallet.check_identity(origin, quote.identity_pubkey)
        async with self._locks[origin]:
            entry = entry if entry and _open(entry) else _usable(self.wallet, origin)
            if entry is None:
                first = max(quote.price_sat, quote.terms["min_payment_sat"])
                if self.budget is not None and self.signed + first > self.budget:
                    raise BudgetExceeded(f"a channel's first payment is {first} sat, beyond the budget of "
                                         f"{self.budget} sat ({self.signed} sat signed): nothing was paid")
                entry = await opening.open_channel(self.control, origin, quote, self.deposit, self.budget)
        entry.prices[quote.route] = quote.price_sat
        self.wallet.save()

    def _retire(self, entry: ChannelEntry, why: str) -> None:
        entry.retired = why
        self.wallet.save()

    def _quote(self, answer: PaidResponse) -> Quote:
        details = problem(answer.headers.get("Content-Type", "").split(";")[0].strip(), answer.body)
        return Quote.from_problem(details, self.wallet.network)

    # ---- paying ------------------------------------------------------------------

    async def _paid(self, entry: ChannelEntry, req: Prepared, price: int, timeout, force: bool) -> PaidResponse:
        """Send `req` paid from `entry`; its answer with the receipt verified."""
        with self.wallet.queued():
            header, seq = self._payment(entry, req, price, force)
        await self.wallet.written()  # the voucher and the sequence numbers this header uses are stored
        answer = await self._send(req, header, timeout)
        try:
            answer.receipt = self._receipt(entry, seq, price, answer)
        except BadAnswer as e:
            self._retire(entry, str(e))
            raise
        return answer

    def _payment(self, entry: ChannelEntry, req: Prepared, price: int, force: bool):
        """The Streamium-Payment header for one request and its sequence number. Synchronous on
        purpose: parallel requests each see the counters the one before left."""
        if self.max_price is not None and price > self.max_price:
            raise PriceRefused(f"this route costs {price} sat per request, more than the --max-price of "
                               f"{self.max_price} sat: nothing was paid")
        v = entry.viewer
        self._expected.setdefault(entry.channel_key, entry.spent)
        self._credit(entry, price, force)
        seq = self.wallet.next_seq(entry)
        self._expected[entry.channel_key] += price
        key = self._keys.get(entry.channel_key) or self._keys.setdefault(
            entry.channel_key, request_key(v.key.secret, entry.channel_key))
        payment = Payment.make(key, entry.channel_key, seq, v.amount, v.pay_sig, req.method, req.target,
                               req.body, req.idempotency_key)
        return payment.header(), seq

    def _credit(self, entry: ChannelEntry, price: int, force: bool) -> None:
        """Sign `prepay` requests ahead when less than half of that is left, or (`force`) more
        than before when the server found the credit short; within the deposit and the budget."""
        v, terms = entry.viewer, entry.viewer.offer.terms
        expected = self._expected[entry.channel_key]
        # requests sent in parallel each need credit: sign ahead for four times as many as are in
        # flight (a voucher, and its write to the wallet file, every two of those rounds)
        ahead = max(self.prepay, 4 * ((expected - entry.spent) // price))
        if not force and v.amount - expected >= max(price, price * ahead / 2):
            return
        wanted = max(terms.min_payment_sat, expected + ahead * price, v.amount + price if force else 0)
        floor = max(terms.min_payment_sat, expected + price, v.amount + 1 if force else 0)  # this request's least
        capped = min(wanted, v.channel.max_amount)
        target = capped if self.budget is None else min(capped, v.amount + self.budget - self.signed)
        if target > v.amount and target >= floor:
            before = v.amount
            self.control.carry_out(entry, v.authorize(target, self.control.now()))
            self.signed += v.amount - before
        elif force or v.amount < expected + price:
            if capped >= floor:
                raise BudgetExceeded(f"the next request needs {floor - v.amount} sat more signed, beyond the "
                                     f"budget of {self.budget} sat ({self.signed} sat signed): nothing was paid")
            self._retire(entry, "exhausted: all its deposit is signed")
            raise _Exhausted()

    def _receipt(self, entry: ChannelEntry, seq: int, price: int, answer: PaidResponse) -> Optional[Receipt]:
        """The answer's receipt, verified: this channel, this request, this status and body, at
        most the price, no payment we did not sign. None only on the paywall's own refusals."""
        key, v = entry.channel_key, entry.viewer
        text = answer.headers.get(RECEIPT_HEADER)
        if text is None:
            if answer.refusal is None:
                raise BadAnswer(f"{entry.origin} answered a paid request (HTTP {answer.status}) without a receipt")
            self._expected[key] -= price
            return None
        try:
            receipt = Receipt.parse(text)
        except WireError as e:
            raise BadAnswer(f"{entry.origin} sent a malformed receipt: {e}") from None
        if receipt.channel != key or receipt.seq != seq or receipt.status != answer.status:
            raise BadAnswer(f"{entry.origin} sent a receipt for another channel, request or status")
        if receipt.charged > price or receipt.signed > v.amount or receipt.spent > receipt.signed:
            raise BadAnswer(f"{entry.origin}'s receipt charges {receipt.charged} sat (the price is {price}), "
                            f"spent {receipt.spent} of {receipt.signed} signed ({v.amount} signed here)")
        try:
            receipt.verify(answer.body, self._k2(key))
        except ProtocolError:
            raise BadAnswer(f"{entry.origin}'s receipt is not K2's signature of this answer") from None
        self._expected[key] -= price - receipt.charged
        entry.spent, entry.receipt = max(entry.spent, receipt.spent), text
        return receipt

    def _k2(self, channel_key: str):
        if channel_key not in self._k2s:
            self._k2s[channel_key] = public_key(bytes.fromhex(channel_key), BAD_PAYMENT)
        return self._k2s[channel_key]

    async def _send(self, req: Prepared, payment: Optional[str], timeout) -> PaidResponse:
        headers = CIMultiDict(req.headers)
        if payment is not None:
            headers[PAYMENT_HEADER] = payment
        try:
            async with self.control.session.request(req.method, req.url, data=req.body or None, headers=headers,
                                                    allow_redirects=False, timeout=timeout) as response:
                return PaidResponse(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError) as e:
            raise Unreachable(f"{req.origin} did not answer {req.method} {req.url.path}: "
                              f"{e or type(e).__name__}") from None

    async def _wait(self, answer: PaidResponse, what: str) -> None:
        """Wait as the refusal's Retry-After asks; the user hears it once for parallel requests."""
        delay = retry_after(answer.headers, time.time())
        delay = DEFAULT_WAIT_S if delay is None else max(1, delay)
        if not self._waiting[what]:
            self.control.say(f"waiting {delay:.0f} s for {what}…")
        self._waiting[what] += 1
        try:
            await asyncio.sleep(delay)
        finally:
            self._waiting[what] -= 1


class _Exhausted(Exception):
    """The channel's deposit is all signed: the request needs a new channel."""


def _open(entry: ChannelEntry) -> bool:
    return entry.viewer.state == states.OPEN and not entry.retired


def _usable(wallet: Wallet, origin: str) -> Optional[ChannelEntry]:
    """The newest open channel with `origin` that takes requests."""
    return next((e for e in reversed(wallet.of_origin(origin)) if _open(e)), None)


def _price(entry: ChannelEntry, req: Prepared) -> Optional[int]:
    """The price of the first route the server quoted that covers `req`; None: not known."""
    return next((p for route, p in entry.prices.items() if route_matches(route, req.method, req.url.path)), None)


def _detail(answer: PaidResponse) -> str:
    """The problem document's own words, short and printable."""
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else f"HTTP {answer.status}"
    return "".join(c for c in text[:300] if c.isprintable())
