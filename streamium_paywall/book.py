"""The paywall's channels: one live core `Broadcaster` (metered) per channel, its record in the
store, and its chain work: opening (T1's inputs, fee, publication), watching T1 and the channel's
spend until buried, settling before the lock time, closing idle channels. The money rules are
the core's; this module carries out its actions, in order, each Persist before what follows.
"""

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from app import chain_watch
from app.channel import Broadcast, Broadcaster, LookUpInputs, Persist, Send, Terms, new_secret, states
from app.channel.signatures import private_key
from app.esplora import ChainApiError, TxRefused

log = logging.getLogger("paywall")

OFFER_TTL_S = 600  # an offer nobody opened a channel on is dropped after this (it holds no money)
HELLO_RATE = 0.2  # new offers a second per client address, in bursts of HELLO_BURST
HELLO_BURST = 10
MAX_HELLO_SOURCES = 10_000  # addresses whose hellos are counted (the count starts again beyond)
FORGET_CHECK_S = 1


class ChainUnavailable(Exception):
    """The chain API did not answer a question the answer to the client waits for (HTTP 503)."""


class TooManyChannels(Exception):
    """--max-channels channels are live (HTTP 503)."""


class TokenBucket:
    """`rate` requests a second per channel, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = burst, clock()

    def take(self) -> Optional[float]:
        """None if a request may go now, else the seconds until one may."""
        if self.rate <= 0:
            return None
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


@dataclass
class Entry:
    """A channel as the paywall runs it."""

    k2: str
    b: Broadcaster
    created: int
    last_used: int
    bucket: TokenBucket
    control: asyncio.Lock = field(default_factory=asyncio.Lock)  # control calls and chain rounds, not requests
    closing: bool = False  # a close is waiting for the requests in flight: no more are admitted
    request_key: Optional[bytes] = None  # of the channel's request MACs, once open (app.paid_http)
    checked_at: int = 0
    publishing: set = field(default_factory=set)


@dataclass
class Options:
    buried: int = states.BURIED_CONFIRMATIONS
    max_channels: int = 1000  # funded channels; as many offers again, the oldest giving way
    idle_close_s: int = 6 * 3600
    rate_limit: float = 200.0  # requests a second per channel; 0: no limit
    unconfirmed_total: int = 1_000_000  # sat all channels together may spend on unconfirmed funding


class ChannelBook:
    def __init__(self, store, terms: Terms, api, options: Options = Options(), clock=time.time):
        self.store, self.terms, self.api, self.options, self.clock = store, terms, api, options, clock
        self.identity = store.identity_secret()
        self.live: Dict[str, Entry] = {}
        self.jobs: set = set()
        self.hellos: Dict[str, TokenBucket] = {}

    def now(self) -> int:
        return int(self.clock())

    # ---- channels ---------------------------------------------------------------------

    def load(self) -> None:
        """Every stored channel comes back as it was; what it must publish is published again."""
        for k2, record, last_used, created in self.store.channels():
            b = Broadcaster.from_record(record, self.options.buried)
            b.taken = self._taken
            self.live[k2] = self._entry(k2, b, created, last_used)
        for entry in list(self.live.values()):
            self._background(self.carry_out(entry, entry.b.reload()))

    def _entry(self, k2, b, created, last_used) -> Entry:
        o = self.options
        return Entry(k2, b, created, last_used, TokenBucket(o.rate_limit, max(1.0, 2 * o.rate_limit)))

    def _taken(self, funding_txid: str, viewer_pubkey: str) -> bool:
        return any(e.b.channel is not None and e.b.channel.funding.txid == funding_txid
                   for e in self.live.values() if e.b.state != states.CLOSED)

    async def new_channel(self, source: str = "") -> dict:
        """A fresh K2 and its signed offer (stored before it leaves). Offers hold no money, so the
        oldest gives way when there are as many as max_channels; each address asks for few."""
        bucket = self.hellos.setdefault(source, TokenBucket(HELLO_RATE, HELLO_BURST))
        if len(self.hellos) > MAX_HELLO_SOURCES:
            self.hellos = {source: bucket}
        if bucket.take() is not None:
            raise TooManyChannels("too many new channels asked from this address; try again in a minute")
        funded = [e for e in self.live.values() if e.b.state not in (states.OFFERED, states.CLOSED)]
        if len(funded) >= self.options.max_channels:
            raise TooManyChannels(f"{self.options.max_channels} channels are open here; try again later")
        offers = sorted((e for e in self.live.values() if e.b.state == states.OFFERED), key=lambda e: e.created)
        for old in offers[:max(0, len(offers) + 1 - self.options.max_channels)]:
            self._forget(old)
        b = Broadcaster.new(self.terms, self.identity, new_secret(os.urandom), self.options.buried,
                            taken=self._taken, metered=True)
        now = self.now()
        entry = self._entry(b.offer.channel_pubkey, b, now, now)
        self.live[entry.k2] = entry
        return (await self.carry_out(entry, b.start()))[0]  # K2 is on disk before its offer leaves

    @property
    def identity_pubkey(self) -> str:
        return private_key(self.identity).sec().hex()

    def get(self, k2: str) -> Optional[Entry]:
        return self.live.get(k2)

    def unconfirmed_total(self) -> int:
        """Sat spent or reserved on channels whose funding is not confirmed: the paywall's whole
        exposure to funding that can still be double-spent (each channel has its own bound too)."""
        return sum(e.b.spent + e.b.reserved for e in self.live.values()
                   if e.b.state == states.OPEN and not e.b.funding_confirmed)

    def _forget(self, entry: Entry) -> None:
        self.store.forget_channel(entry.k2)
        self.live.pop(entry.k2, None)

    # ---- carrying out the core's actions ------------------------------------------------

    def run_now(self, entry: Entry, actions: List) -> None:
        """Carry out `actions` without awaiting anything: a Persist is queued (committed in this
        turn's transaction), chain work goes to the background. For a request's own path."""
        for action in actions:
            if isinstance(action, Persist):
                self.store.put_channel(entry.k2, entry.b.record(), self.now())
            elif isinstance(action, (Broadcast, LookUpInputs)):
                self._background(self.carry_out(entry, [action]))

    async def carry_out(self, entry: Entry, actions: List) -> List[dict]:
        """Carry out `actions` in order, the chain work too; returns the messages for the client.
        T1 on opening is published while the client waits (its answer depends on it); any other
        transaction is tried once at once and then kept trying in the background."""
        sent, b = [], entry.b
        for action in actions:
            now = self.now()
            if isinstance(action, Persist):
                # the channel as it is now: requests served while this ran changed it since the
                # action was made, and an older copy must never replace a newer one
                await self.store.put_channel(entry.k2, entry.b.record(), now)
            elif isinstance(action, Send):
                sent.append(action.message)
            elif isinstance(action, LookUpInputs):
                try:
                    values = await chain_watch.input_values(self.api, action.outpoints)
                except ChainApiError as e:
                    raise ChainUnavailable(f"looking up the funding's coins: {e}")
                sent += await self.carry_out(entry, b.funding_inputs(values, self.now()))
            elif isinstance(action, Broadcast):
                sent += await self._publish(entry, action)
        return sent

    async def _publish(self, entry: Entry, action: Broadcast) -> List[dict]:
        b = entry.b
        opening = b.channel is not None and action.txid == b.channel.funding.txid \
            and b.state == states.REFUND_SIGNED and b.funding_confirmations is None
        try:
            txid = await self.api.broadcast(action.tx, action.txid)
        except TxRefused as refusal:
            if opening:
                return await self.carry_out(entry, b.tx_rejected(action.txid, refusal.message[:200], self.now()))
            log.warning("channel %s…: %s refused (%s); trying again", entry.k2[:12], action.txid, refusal)
            self._keep_publishing(entry, action)
            return []
        except ChainApiError as e:
            if opening:
                raise ChainUnavailable(f"publishing the funding transaction: {e}")
            self._keep_publishing(entry, action)
            return []
        return await self.carry_out(entry, b.tx_accepted(txid, self.now()))

    def _keep_publishing(self, entry: Entry, action: Broadcast) -> None:
        """Publish until the chain has it, or the channel no longer needs it (as the page does)."""
        if action.txid in entry.publishing:
            return
        b = entry.b
        funding = b.channel is not None and action.txid == b.channel.funding.txid
        give_up = (lambda: not b.wants_funding_published) if funding else (lambda: b.state != states.CLOSING)
        entry.publishing.add(action.txid)

        async def job():
            try:
                txid = await chain_watch.broadcast_until_known(
                    self.api, action.tx, action.txid, action.not_before, give_up=give_up,
                    on_wait=lambda why: log.info("channel %s…, %s…: %s", entry.k2[:12], action.txid[:8], why))
                if txid:
                    async with entry.control:
                        await self.carry_out(entry, b.tx_accepted(txid, self.now()))
            finally:
                entry.publishing.discard(action.txid)
        self._background(job())

    def _background(self, coroutine) -> None:
        task = asyncio.ensure_future(self._logged(coroutine))
        self.jobs.add(task)
        task.add_done_callback(self.jobs.discard)

    @staticmethod
    async def _logged(coroutine):
        try:
            await coroutine
        except (ChainUnavailable, ChainApiError) as e:
            log.warning("%s", e)

    # ---- the clock and the chain ----------------------------------------------------------

    async def watch(self) -> None:
        """Forever: each channel's clock (settle before L), idle closing, and its chain round."""
        while True:
            for entry in list(self.live.values()):
                try:
                    async with entry.control:
                        await self.check(entry, self.now())
                except Exception:  # noqa: BLE001  (one channel's trouble must not stop the others)
                    log.exception("channel %s…", entry.k2[:12])
            self.store.expire_answers(self.now() - 86_400)
            await asyncio.sleep(FORGET_CHECK_S)

    async def check(self, entry: Entry, now: int) -> None:
        b, idle = entry.b, now - entry.last_used
        actions = b.tick(now)
        if b.state == states.OFFERED and now - entry.created >= OFFER_TTL_S:
            actions += b.stop(now)
        elif b.state in (states.REFUND_SIGNED, states.OPEN) and idle >= self.options.idle_close_s:
            log.info("channel %s… idle for %d s: settling", entry.k2[:12], idle)
            actions += b.stop(now)
        await self.carry_out(entry, actions)
        if chain_watch.broadcaster_round_due(b, entry.checked_at, now):
            entry.checked_at = now
            await self.carry_out(entry, await chain_watch.quietly(chain_watch.broadcaster_round(self.api, b, now)))
        if states.may_forget(b.state):
            self._forget(entry)
