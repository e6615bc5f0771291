"""The viewer's screen: drives one channel core per share link in this browser.

Each channel's record is kept under its own K1 (viewer_records.py), and a Web Lock lets one
tab at a time drive a share link (v2 §D). DOM writing is in watch_view.py, the offer form in
watch_offer.py, chain work in watch_chain.py, the video in watch_video.py.
"""

import asyncio
import os

from pyscript import window

from app import chain_watch, receipts
from app.channel import (Broadcast, Chat, Closed, Disconnect, PeerError, Persist, Send, ShowFunding, ShowHold,
                         ShowOffer, Viewer, new_secret, parse_link, states)
from app.esplora import ChainApiError
from app.relay_room import RelayError
from app.ui import chain, receipt_view, storage, viewer_records, watch_chain, watch_view as view
from app.ui.dom import by_id, on, show
from app.ui.peerlink import PeerLink, PeerLinkError, peer_id
from app.ui.serial import OnlyOne, SerialQueue
from app.ui.tabs import TabLock
from app.ui.watch_offer import OfferForm
from app.ui.watch_video import Video, relay_admission

REFUSALS_THAT_STRAND = ("bad_offer", "bad_refund", "bad_funding")
CHAT_KEPT = 200  # lines of chat kept per channel


class WatchPage:
    def __init__(self, config, fragment):
        self.config, self.fragment = config, fragment
        self.api = chain.esplora(config, on_wait=view.status)
        self.v, self.key, self.link, self.conn = None, None, None, None
        self.queue, self.video = SerialQueue(), Video()
        self.polls = {name: OnlyOne() for name in ("spend", "mtp", "recover", "receipt")}
        self.mtp, self.mtp_checked, self.retry_at = None, 0, None
        self.claiming = self.done = self.auto_claim = self.is_stuck = self.stale = False
        self.form = OfferForm(self)
        self.check_funding = asyncio.Event()

    # ---- start ---------------------------------------------------------------

    def enter(self):
        self.bind_controls()
        try:
            self.share = parse_link(self.fragment)
        except ValueError:
            view.fail("This is not a complete share link: ask the broadcaster for the link "
                      "(it ends with #/watch/<name>/<key>).")
            return
        by_id("w-title").textContent = self.share.stream
        self.lock = TabLock(f"streamium-watch:{self.share.identity_pubkey}:{self.share.stream}")
        self.lock.on_lost = self.taken_over
        asyncio.ensure_future(self.claim_tab())

    def bind_controls(self):
        self.form.bind()
        on(by_id("w-copy-address"), "click", lambda *_: window.navigator.clipboard.writeText(
            by_id("funding-address").textContent))
        on(by_id("w-change-deposit"), "click", lambda *_: self.change_deposit())
        on(by_id("w-copy-amount"), "click", lambda *_: window.navigator.clipboard.writeText(
            by_id("w-funding-amount-btc").textContent))
        on(by_id("w-stop"), "click", lambda *_: self.stop())
        on(by_id("w-refund-claim"), "click", lambda *_: asyncio.ensure_future(watch_chain.claim_refund(self)))
        on(by_id("w-recover"), "click", lambda *_: asyncio.ensure_future(watch_chain.sweep_home(self)))
        on(by_id("w-again"), "click", lambda *_: self.again())
        on(by_id("w-unmute"), "click", lambda *_: self.video.unmute())
        on(by_id("w-chat-form"), "submit", self.send_chat)
        on(by_id("w-take-over"), "click", lambda *_: asyncio.ensure_future(self.claim_tab(take_over=True)))

    async def claim_tab(self, take_over=False):
        if not await self.lock.acquire(take_over):
            view.elsewhere()
            return
        show("w-elsewhere", False)
        self.load()

    def taken_over(self):
        """Another tab took this link over: from now on this one acts on nothing (v2 §D)."""
        self.done = self.stale = True
        if self.link:
            self.link.destroy()
        view.elsewhere(taken_over=True)

    def load(self):
        record = viewer_records.current(self.share)
        if record:
            self.v = Viewer.from_record(record, self.config.buried_confirmations)
        else:
            self.v = Viewer.new(self.fragment, self.config.network, new_secret(os.urandom),
                                self.config.buried_confirmations)
        self.key = viewer_records.key(self.share, self.v)
        for sender, text in storage.get(self.key + ":chat", []):
            view.chat_line(sender, text)
        asyncio.ensure_future(self.tick_loop())
        if states.is_over(self.v.state):
            self.show_result()
            return
        self.auto_claim = self.v.state not in (states.JOINING, states.FUNDING)
        if self.v.state == states.EXPIRED:
            view.status("Claiming your refund: the broadcaster did not settle this channel in time.")
            self.run(self.v.reload())
            return
        if self.v.state == states.FUNDING:
            self.form.show_funding(self.v.funding_address, self.v.funding_amount(self.v.capacity))
        if self.v.state != states.CLOSED:
            asyncio.ensure_future(self.connect())

    def change_deposit(self):
        try:
            self.run(self.v.change_deposit())
        except ValueError:
            view.fail("Coins have already arrived at the funding address: the channel opens with them.")

    def again(self):
        """Watch again with a new channel. The old record stays: its K1 may still have coins to sweep."""
        if self.stale:
            return
        viewer_records.forget_current(self.share)
        window.location.reload()

    # ---- the data connection ---------------------------------------------------------

    async def connect(self):
        if self.done:
            return
        view.status(f"Connecting to “{self.share.stream}”…")
        if self.link is None:
            self.link = PeerLink(self.config)
            self.link.on_call = self.incoming_call
            self.link.on_error = self.peer_error
            try:
                await self.link.open()
            except (PeerLinkError, asyncio.TimeoutError) as failure:
                self.link = None
                view.status(f"The signalling server is not reachable ({failure}); retrying…")
                self.retry_at = chain.now() + 5
                return
        conn = self.conn = self.link.connect(peer_id(self.share.stream))

        def opened():
            view.status("Connected. Waiting for the broadcaster's offer…" if self.v.state == states.JOINING
                        else "Connected.")
            self.run(self.v.connected(chain.now()))

        def data(text):
            if conn is not self.conn:
                return
            try:
                admission = relay_admission(text)
            except RelayError as wrong:
                view.status(f"The broadcaster's relay admission was refused: {wrong}")
                return
            if admission is None:
                self.run(self.v.receive(text, chain.now()))
            else:
                self.relayed(admission)

        def closed():
            if conn is self.conn and not self.done:
                self.conn = None
                if self.v.state in (states.JOINING, states.FUNDING, states.REFUND_SIGNED, states.OPEN):
                    view.status("The connection to the broadcaster was lost. Reconnecting…")
                    self.retry_at = chain.now() + 3
                self.refresh()

        conn.on_open, conn.on_data, conn.on_close = opened, data, closed

    def peer_error(self, kind, message):
        if kind == "peer-unavailable":
            self.conn = None
            view.status(f"“{self.share.stream}” is not live right now. Trying again in a few seconds…")
        elif kind in ("network", "disconnected", "server-error", "socket-error", "socket-closed"):
            self.link.destroy()
            self.link, self.conn = None, None
            view.status("The signalling server connection dropped. Reconnecting…")
        else:
            return
        self.retry_at = chain.now() + 4

    def incoming_call(self, call):
        if self.v.state not in (states.OPEN, states.CLOSING):
            call.close()
            return
        self.video.answer(call)

    def relayed(self, admission):
        """The broadcaster let this page into its relay's room: take the video from there."""
        if self.v.state not in (states.OPEN, states.CLOSING):
            return

        async def start():
            try:
                await self.video.from_relay(admission, self.config.ice_servers)
            except RelayError as failure:
                view.status(f"The video could not start: {failure}")

        asyncio.ensure_future(start())

    # ---- the core's actions ------------------------------------------------------------

    def run(self, actions):
        if self.stale:
            return
        for action in actions:
            match action:
                case Persist():
                    viewer_records.save(self.share, self.v, action.record)
                case Send():
                    if action.message.get("type") == "error":
                        self.refused(action.message)
                    if self.conn:
                        self.conn.send(action.message)
                case Broadcast():
                    if watch_chain.is_channel_tx(self.v, action.txid):
                        self.queue.run(watch_chain.publish(self, action))
                    else:  # a sweep: on its own, so that one refused cannot hold up T2 or T3(0)
                        asyncio.ensure_future(watch_chain.publish(self, action))
                case ShowOffer():
                    self.form.show()
                case ShowFunding():
                    self.form.show_funding(action.address, action.amount)
                case ShowHold():
                    if action.held:
                        self.video.stop()
                case Chat():
                    self.chat_line(action.sender or "broadcaster", action.text)
                case PeerError():
                    view.fail(f"The broadcaster reported a problem: {action.message}")
                case Disconnect():
                    if self.conn:
                        self.conn.close()
                case Closed():
                    self.closed(action)
        self.refresh()

    def refused(self, message):
        code, text = message.get("code"), message.get("message", "")
        if code == "bad_offer":
            view.status("Stopped before anything was paid.")
            view.fail("The offer was refused: it is not signed by the broadcaster your link names (identity "
                      f"fingerprint {receipts.fingerprint(self.share.identity_pubkey)}), or its terms changed "
                      f"({text}). This may be an impostor using the same stream name. Nothing was paid; compare "
                      "the fingerprint with the one on the broadcaster's page, or ask them for the link again.")
            if self.v.state == states.JOINING:  # nothing was paid: stop talking to it
                self.done = True
                if self.conn:
                    self.conn.close()
        elif code in REFUSALS_THAT_STRAND:
            view.fail(f"The broadcaster sent something this page refused: {text}")
        if code in REFUSALS_THAT_STRAND and self.v.state in (states.FUNDING, states.REFUND_SIGNED):
            self.stuck(None)
        if code == "not_open" and states.is_live(self.v.state):
            view.fail("The broadcaster did not take this page back into the channel: " + text + ". If this "
                      "device's clock is off by more than five minutes, set it right and reload; otherwise your "
                      "refund comes back after the lock time.")

    def stuck(self, why):
        """The channel cannot go on from here: show the way home for coins already sent."""
        self.is_stuck = True
        if why:
            view.fail(why)
        self.polls["recover"].start(lambda: watch_chain.recoverable(self))

    def closed(self, action):
        if states.is_over(self.v.state):
            self.show_result()
        elif action.txid:
            view.status(f"The broadcaster reports the closing transaction {action.txid[:16]}…; "
                        "waiting for the chain to show it…")
            self.video.stop()

    def stop(self):
        """Close on the payment for the video received (v2 §F): time paid ahead comes back."""
        by_id("w-stop").disabled = True
        view.status("Closing the channel: the broadcaster settles for the time you watched…")
        v = self.v
        self.run(v.close(chain.now(), v.served_amount if v.amount else None))

    def send_chat(self, event):
        event.preventDefault()
        field = by_id("w-chat-input")
        text = field.value.strip()
        if text and self.conn:
            field.value = ""
            self.run(self.v.chat(text))
            self.chat_line("you", text)

    def chat_line(self, sender, text):
        """Shown, and kept with the channel: a reload shows the conversation again."""
        kept = storage.get(self.key + ":chat", [])[-(CHAT_KEPT - 1):] + [[sender, text]]
        storage.put(self.key + ":chat", kept)
        view.chat_line(sender, text)

    # ---- the clock ----------------------------------------------------------------------

    async def tick_loop(self):
        while not self.stale and (not self.done or states.watches_chain(self.v.state)):
            try:
                await self.tick()
            except Exception as failure:  # noqa: BLE001  (keep the clock running; say what broke)
                view.status(f"Problem: {failure}")
            await asyncio.sleep(1)

    async def tick(self):
        now, v = chain.now(), self.v
        if v.state == states.OPEN:
            self.run(v.received_video(self.video.played()))
        self.run(v.tick(now))
        reconnects = v.state in (states.JOINING, states.FUNDING, states.REFUND_SIGNED, states.OPEN)
        if self.retry_at and now >= self.retry_at and not self.done and reconnects:
            self.retry_at = None
            await self.connect()
        every = 2 if v.state in (states.CLOSING, states.EXPIRED, states.SETTLING) else 10
        if states.watches_chain(v.state) and now % every == 0:
            self.polls["spend"].start(lambda: watch_chain.spend(self))
        if v.channel and states.is_live(v.state) and now - self.mtp_checked >= 5:
            self.mtp_checked = now
            self.polls["mtp"].start(lambda: watch_chain.median_time(self))
        ended = v.state in (states.CLOSING, states.EXPIRED) or states.is_over(v.state)
        if (self.is_stuck or ended) and now % 15 == 0:
            self.polls["recover"].start(lambda: watch_chain.recoverable(self))

    def refresh(self):
        if self.v is not None:
            view.ticker(self.v, chain.now(), bool(self.conn and not self.conn.closed))

    def show_result(self):
        v = self.v
        self.done = True
        self.video.stop()
        if self.conn:
            self.conn.close()
        if self.link:
            self.link.destroy()
            self.link = None
        view.result(v, self.config.explorer)
        view.status("")
        if v.channel and v.funding_tx and v.utxos:
            self.polls["receipt"].start(self.follow_receipt)  # one, whatever spend it follows
        self.polls["recover"].start(lambda: watch_chain.recoverable(self))

    async def follow_receipt(self):
        """The receipt, from the closing transaction's own bytes, kept in this browser and
        brought up to date until the transaction is buried."""
        v, config, settled, depth = self.v, self.config, None, None
        while not self.stale:
            txid = v.closing_txid
            try:
                tx = txid and await self.api.transaction(txid)
                depth = txid and await chain_watch.confirmations(self.api, txid)
                ch = v.channel
                settled = tx and receipts.settlement(tx, ch.funding.txid, ch.funding.vout, ch.value,
                                                     v.offer.terms.payout_script, ch.change_script)
            except (ChainApiError, ValueError) as failure:
                view.status(f"The receipt waits for the chain service: {failure}. Trying again in 10 s…")
            receipt = receipts.viewer_receipt(v, settled, txid, depth, config.buried_confirmations, config.explorer)
            receipt_view.keep(receipt)
            view.receipt(v, receipt)
            if receipt["final"]:
                return
            await asyncio.sleep(10)
