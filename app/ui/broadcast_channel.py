"""One viewer's channel on the broadcaster's page: its core object, the data connection that
speaks for it, its media (a call from this page, or its admission to the relay's room), and its
chain work (in order, one job after another)."""

import asyncio
import os

from app.channel import (Broadcast, Chat, Closed, Disconnect, LookUpInputs, PeerError, Persist, Send, StartMedia,
                         StopMedia, states)
from app.esplora import ChainApiError, TxRefused
from app import chain_watch, receipts
from app.relay_room import RelayError
from app.ui import broadcast_view as view, chain, receipt_view, storage
from app.ui.serial import OnlyOne, SerialQueue

SHORT = 8
FUNDING_RETRY_S = 10  # T1 tried again after this (doubling to a minute) while the API is unwell


class ViewerChannel:
    def __init__(self, page, b, conn=None, slot=None, identity=None):
        self.page, self.b, self.conn, self.call = page, b, conn, None
        self.identity = identity or page.identity_pub  # of the broadcast it belongs to, whatever runs now
        self.slot = slot or (b.channel_id or f"pending-{os.urandom(6).hex()}")
        self.queue, self.poll = SerialQueue(), OnlyOne()
        self.media = SerialQueue()  # the relay's admissions and cut-offs, in the order the core asked
        self.member = None  # (relay, member id) while this viewer is admitted to the relay's room
        self.peer_label = (conn.peer if conn else "?")[-SHORT:]
        self.checked_at = 0

    @property
    def label(self):
        """The viewer as this page names it: by K1 once the channel has it, the same after any
        reconnect or reload (before that, by its connection)."""
        ch = self.b.channel
        return ch.viewer_pubkey[2:2 + SHORT] if ch else self.peer_label

    @property
    def key(self):
        return f"bc:{self.identity}:{self.slot}"

    def persist(self, record):
        """Write the record; once the channel has its id, file it there (new record first, then the old slot goes)."""
        if self.b.channel_id and self.slot != self.b.channel_id:
            old = self.key
            self.page.channels.pop(self.slot, None)
            self.slot = self.b.channel_id
            self.page.channels[self.slot] = self
            storage.put(self.key, record)
            storage.delete(old)
            return
        storage.put(self.key, record)

    def run(self, actions):
        if not self.page.active:  # another tab took the broadcast over: this one acts no more
            return
        for action in actions:
            match action:
                case Persist():
                    self.persist(action.record)
                case Send():
                    if self.conn:
                        self.conn.send(action.message)
                case Broadcast():
                    self.queue.run(self.publish(action))
                case LookUpInputs():
                    self.queue.run(self.look_up_inputs(action.outpoints))
                case StartMedia():
                    self.start_media()
                case StopMedia():
                    self.stop_media()
                case Chat():
                    view.chat_line(f"viewer {self.label}", action.text)
                case PeerError():
                    view.log(f"viewer {self.label}: {action.message} ({action.code})")
                case Disconnect():
                    if self.conn:
                        self.conn.close()
                case Closed():
                    self.stop_media()
                    if action.txid:
                        self.closed(action.txid)
        self.page.refresh()

    def closed(self, txid):
        """Listed under the closed channels, with its receipt followed until buried."""
        if view.closing(self, txid, self.page.config.explorer):
            asyncio.ensure_future(self.follow_receipt(txid))

    async def follow_receipt(self, listed):
        """`listed`: the txid it is listed under (what spent the channel may change while unburied)."""
        page, depth = self.page, None
        config = page.config
        while page.active:
            txid = self.b.settled_by
            try:
                depth = txid and await chain_watch.confirmations(page.api, txid)
            except ChainApiError as failure:
                view.log(f"viewer {self.label}: the receipt waits for the chain service: {failure}")
            receipt = receipts.broadcaster_receipt(self.b, self.label, self.identity, depth,
                                                   config.buried_confirmations, config.explorer, chain.now())
            receipt_view.keep(receipt)
            view.receipt(listed, receipt)
            if receipt["final"]:
                return
            await asyncio.sleep(10)

    # ---- chain work ---------------------------------------------------------------------

    async def look_up_inputs(self, outpoints):
        """The values of T1's inputs, as the chain knows them (v2 §B's fee check)."""
        pause = FUNDING_RETRY_S
        while self.b.state == states.REFUND_SIGNED and self.b.funding_tx:
            try:
                values = await chain_watch.input_values(self.page.api, outpoints)
                self.run(self.b.funding_inputs(values, chain.now()))
                return
            except ChainApiError as failure:
                view.log(f"viewer {self.label}: looking up the funding's coins: {failure}")
            await asyncio.sleep(pause)
            pause = min(2 * pause, 60)

    async def publish(self, action):
        """T1 before the channel opened: `publish_funding`. T1 again (evicted, or first before a T3):
        until it confirms or the channel is over. T3: until the channel is settling."""
        b = self.b
        funding = b.channel and action.txid == b.channel.funding.txid
        if funding and b.state == states.REFUND_SIGNED and b.funding_confirmations is None:
            await self.publish_funding(action)
            return
        if funding:
            give_up = lambda: not b.wants_funding_published  # noqa: E731
        else:
            give_up = lambda: b.state != states.CLOSING  # noqa: E731
        txid = await chain_watch.broadcast_until_known(
            self.page.api, action.tx, action.txid, action.not_before,
            on_wait=lambda why: view.log(f"viewer {self.label}, {action.txid[:8]}…: {why}"), give_up=give_up)
        if txid:
            self.run(b.tx_accepted(txid, chain.now()))

    async def publish_funding(self, action):
        """T1: a refusal by the node is final (`tx_rejected`); anything else (the API down, a
        proxy failing) is tried again while the channel waits for it, and said on screen."""
        pause = FUNDING_RETRY_S
        while self.b.state == states.REFUND_SIGNED:
            try:
                await self.page.api.broadcast(action.tx, action.txid)
                self.run(self.b.tx_accepted(action.txid, chain.now()))
                return
            except TxRefused as refusal:
                self.run(self.b.tx_rejected(action.txid, refusal.message[:200], chain.now()))
                return
            except ChainApiError as failure:
                view.log(f"viewer {self.label}: publishing the funding transaction: {failure}")
            await asyncio.sleep(pause)
            pause = min(2 * pause, 60)

    def check_chain(self, now):
        if chain_watch.broadcaster_round_due(self.b, self.checked_at, now):
            self.checked_at = now
            self.poll.start(self.chain_round)

    async def chain_round(self):
        self.run(await chain_watch.quietly(chain_watch.broadcaster_round(self.page.api, self.b, chain.now())))

    # ---- media and connection ----------------------------------------------------------------

    def start_media(self):
        self.stop_media()
        if self.conn and self.conn.open and self.page.stream is not None:
            if self.page.relay is not None:
                self.media.run(self.admit(self.page.relay))
            else:
                self.call = self.page.link.call(self.conn.peer, self.page.stream)

    def stop_media(self):
        if self.call is not None:
            try:
                self.call.close()
            except Exception:  # noqa: BLE001  (already closed)
                pass
            self.call = None
        if self.member is not None:
            (relay, member), self.member = self.member, None
            self.media.run(self.cut(relay, member))

    async def admit(self, relay):
        """Let this viewer into the relay's room, then tell it how (the token is allowed first)."""
        try:
            admission = await relay.admit()
        except (RelayError, asyncio.TimeoutError) as failure:
            view.log(f"viewer {self.label}: the relay did not let it in: {failure}")
            return
        if not (self.b.streaming and self.conn and self.conn.open and relay is self.page.relay):
            await self.cut(relay, admission.member)  # stopped while it was being let in
            return
        self.member = (relay, admission.member)
        self.conn.send(admission.message())

    async def cut(self, relay, member):
        if relay is not self.page.relay:
            return  # a room being removed whole (a new source, the end): it takes this member with it
        try:
            await relay.cut(member)
        except (RelayError, asyncio.TimeoutError) as failure:
            view.log(f"viewer {self.label}: the relay did not cut it off: {failure}")

    def attach(self, conn):
        """A (re)connected viewer, its resume accepted: the old connection and call are dropped."""
        if self.conn is not None and self.conn is not conn:
            self.stop_media()
            self.conn.on_close = None
            self.conn.close()
        self.conn = conn
        self.peer_label = conn.peer[-SHORT:]
