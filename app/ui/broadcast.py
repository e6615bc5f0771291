"""The broadcaster's screen: set up terms, go live, one channel core object per viewer.

Every core action is carried out in order, persist first (localStorage is synchronous).
Chain work (T1, closings) runs in a per-channel queue, so transactions go out in order.
"""

import asyncio
import dataclasses
import os

import js
from embit.transaction import Transaction
from pyscript import window

from app.amounts import btc, duration, rate_summary, sats
from app.channel import Broadcaster, ProtocolError, Terms, channel_id, error, new_secret, parse_message
from app.channel.addresses import address_script
from app.channel.link import build_link
from app.channel.signatures import private_key
from app.esplora import ChainApiError, TxRefused
from app.qr import qr_data_uri
from app.ui import chain, media, storage
from app.ui.dom import by_id, on, set_text, show
from app.ui.peerlink import PeerLink, PeerLinkError, peer_id
from app.ui.serial import SerialQueue

SESSION_KEY = "broadcast"
SHORT = 8
FUNDING_RETRY_S = 10  # T1 tried again after this (doubling to a minute) while the API is unwell


def _int_field(element_id, label, low, high):
    raw = by_id(element_id).value.strip()
    if not raw.lstrip("-").isdigit():
        raise ValueError(f"{label} must be a whole number.")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{label} must be between {low:,} and {high:,}.")
    return value


def fingerprint(pubkey_hex):
    return " ".join(pubkey_hex[i:i + 4] for i in range(2, 22, 4))


class Channel:
    """One viewer's channel: the core object, its connection and its media call."""

    def __init__(self, page, b, conn=None, slot=None):
        self.page, self.b, self.conn, self.call = page, b, conn, None
        self.slot = slot or (b.channel_id or f"pending-{os.urandom(6).hex()}")
        self.queue = SerialQueue()
        self.ended_at = None
        self.label = (conn.peer if conn else (b.channel and b.channel.viewer_pubkey) or "?")[-SHORT:]
        self.closing_txid = None

    @property
    def key(self):
        return f"bc:{self.page.identity_pub}:{self.slot}"

    def seconds_watched(self, now):
        if self.b.t0 is None:
            return 0
        return max(0, (self.ended_at or now) - self.b.t0)

    def persist(self, record):
        if self.b.channel_id and self.slot != self.b.channel_id:
            storage.delete(self.key)
            self.page.channels.pop(self.slot, None)
            self.slot = self.b.channel_id
            self.page.channels[self.slot] = self
        storage.put(self.key, record)

    def run(self, actions):
        for action in actions:
            kind = action.kind
            if kind == "persist":
                self.persist(action.record)
            elif kind == "send":
                if self.conn:
                    self.conn.send(action.message)
            elif kind == "broadcast":
                self.queue.run(self.publish(action))
            elif kind == "start_media":
                self.start_media()
            elif kind == "stop_media":
                self.stop_media()
            elif kind == "chat":
                self.page.chat_line(f"viewer {self.label}", action.text)
            elif kind == "peer_error":
                self.page.log(f"viewer {self.label}: {action.message} ({action.code})")
            elif kind == "disconnect":
                if self.conn:
                    self.conn.close()
            elif kind == "closed":
                self.ended_at = self.ended_at or chain.now()
                self.stop_media()
                if action.txid:
                    self.closing_txid = action.txid
                    self.page.add_closing(self, action.txid)
        self.page.refresh()

    async def publish(self, action):
        api = self.page.api
        funding = self.b.channel and action.txid == self.b.channel.funding.txid and self.b.state == "refund_signed"
        if funding:
            await self.publish_funding(action)
            return
        txid = await chain.broadcast_until_known(api, action.tx, action.txid, action.not_before,
                                                 on_wait=lambda why: self.page.log(f"closing {action.txid[:8]}…: {why}"),
                                                 give_up=lambda: self.b.state == "closed")
        if txid:
            self.run(self.b.tx_accepted(txid, chain.now()))

    async def publish_funding(self, action):
        """T1: a refusal by the node is final (`tx_rejected`); anything else (the API down, a
        proxy failing) is tried again while the channel waits for it, and said on screen."""
        pause = FUNDING_RETRY_S
        while self.b.state == "refund_signed":
            try:
                await self.page.api.broadcast(action.tx, action.txid)
                self.run(self.b.tx_accepted(action.txid, chain.now()))
                return
            except TxRefused as refusal:
                self.run(self.b.tx_rejected(action.txid, refusal.message[:200], chain.now()))
                return
            except ChainApiError as failure:
                self.page.log(f"viewer {self.label}: publishing the funding transaction: {failure}")
            await asyncio.sleep(pause)
            pause = min(2 * pause, 60)

    async def check_funding(self):
        """With 0 confirmations T1 can still vanish (double-spent or replaced): end the channel then.
        T1's inputs are looked at even while the API still lists T1, which electrs keeps doing for
        a transaction of a block that was reorganised away."""
        b = self.b
        if not (b.channel and b.funding_tx):
            return
        try:
            for inp in Transaction.from_string(b.funding_tx).vin:
                spender = await self.page.api.outspend(inp.txid.hex(), inp.vout)
                if spender and spender != b.channel.funding.txid and b.state in ("open", "closing"):
                    self.run(b.funding_gone(chain.now()))
                    return
        except ChainApiError:
            return

    def start_media(self):
        self.stop_media()
        if self.conn and self.conn.open and self.page.stream is not None:
            self.call = self.page.link.call(self.conn.peer, self.page.stream)

    def stop_media(self):
        if self.call is not None:
            try:
                self.call.close()
            except Exception:  # noqa: BLE001
                pass
            self.call = None

    def attach(self, conn):
        """A (re)connected viewer: the old connection and call are dropped."""
        if self.conn is not None and self.conn is not conn:
            self.stop_media()
            self.conn.on_close = None
            self.conn.close()
        self.conn = conn
        self.label = conn.peer[-SHORT:]


class BroadcastPage:
    def __init__(self, config):
        self.config = config
        self.api = chain.esplora(config, on_wait=self.chain_waits)
        self.channels = {}
        self.link = None
        self.stream = None
        self.terms = None
        self.identity_secret = None
        self.identity_pub = None
        self.ending = False
        self.ticker = None
        self.closings_seen = set()

    # ---- setup ---------------------------------------------------------------

    def enter(self):
        on(by_id("bc-form"), "submit", self.submit)
        for field in ("bc-rate", "bc-name"):
            on(by_id(field), "input", lambda *_: self.preview_terms())
        on(by_id("bc-source"), "change", lambda *_: show("bc-file-label", by_id("bc-source").value == "file"))
        on(by_id("bc-end"), "click", lambda *_: self.end())
        on(by_id("bc-copy"), "click", lambda *_: self.copy_link())
        on(by_id("bc-chat-form"), "submit", self.send_chat)
        if self.config.network == "regtest":
            by_id("bc-lock").min = "60"
        saved = storage.get(SESSION_KEY)
        if saved:
            by_id("bc-name").value = saved["terms"]["name"]
            by_id("bc-payout").value = saved["terms"]["payout_address"]
            by_id("bc-rate").value = str(saved["terms"]["rate_sat_per_min"])
            for field, name in (("bc-min-deposit", "min_deposit_sat"), ("bc-pay-interval", "pay_interval_s"),
                                ("bc-prepay", "prepay_s"), ("bc-grace", "grace_s"), ("bc-lock", "refund_lock_s")):
                by_id(field).value = str(saved["terms"][name])
            self.load_identity(bytes.fromhex(saved["identity_secret"]))
            self.recover()
            set_text("bc-resume-note", f"Your broadcast “{saved['terms']['name']}” was live in this browser. "
                     "Go live again to keep the same link; its channels are settled either way.")
            show("bc-resume-note")
        self.preview_terms()

    def load_identity(self, secret):
        self.identity_secret = secret
        self.identity_pub = private_key(secret).sec().hex()

    def recover(self):
        """After a reload: rebuild every channel from its record; re-broadcast closings (§7)."""
        for key in storage.keys(f"bc:{self.identity_pub}:"):
            record = storage.get(key)
            if not record:
                continue
            b = Broadcaster.from_record(record)
            if b.state == "offered":
                storage.delete(key)
                continue
            ch = Channel(self, b, slot=key.split(":", 2)[2])
            if b.state == "closed":
                ch.ended_at = b.t0 and (b.paid_until or b.t0)
                if b.closing_tx:
                    ch.closing_txid = b._closing_txid()
                    self.add_closing(ch, ch.closing_txid)
            self.channels[ch.slot] = ch
            ch.run(b.reload())
        if self.channels:
            show("bc-live")  # earnings and closings at once; the form stays to go live again
            self.start_ticker()
            self.refresh()

    def preview_terms(self):
        try:
            rate = int(by_id("bc-rate").value)
            set_text("bc-rate-summary", rate_summary(rate) if rate > 0 else "")
        except ValueError:
            set_text("bc-rate-summary", "")
        pid = peer_id(by_id("bc-name").value)
        set_text("bc-name-id", f"Peer id: {pid}" if pid else "Viewers find you by this name.")

    def fail(self, message):
        set_text("bc-error", message)
        show("bc-error", bool(message))

    def read_terms(self, fee_rate):
        name = by_id("bc-name").value.strip()
        if not name or peer_id(name) is None:
            raise ValueError("Give the stream a name with at least one letter or digit.")
        payout = by_id("bc-payout").value.strip()
        try:
            script = address_script(payout, self.config.network)
        except ProtocolError:
            raise ValueError(f"The payout address is not a valid {self.config.network} address.")
        from app.channel import dust
        terms = Terms(
            name=name[:100], network=self.config.network,
            rate_sat_per_min=_int_field("bc-rate", "The price", 1, 10**9),
            payout_address=payout,
            min_deposit_sat=_int_field("bc-min-deposit", "The minimum deposit", 1, 21 * 10**14),
            min_payment_sat=dust(script), fee_rate_sat_vb=fee_rate,
            refund_lock_s=_int_field("bc-lock", "The lock time", 60, 2_592_000),
            pay_interval_s=_int_field("bc-pay-interval", "The payment interval", 1, 3600),
            prepay_s=_int_field("bc-prepay", "The prepaid time", 0, 3600),
            grace_s=_int_field("bc-grace", "The grace period", 0, 3600))
        try:
            return terms.check()
        except ProtocolError as e:
            raise ValueError(f"These terms cannot be offered: {e.message}")

    def submit(self, event):
        event.preventDefault()
        asyncio.ensure_future(self.go_live())

    async def go_live(self):
        button = by_id("bc-start")
        button.setAttribute("aria-busy", "true")
        button.disabled = True
        self.fail("")
        try:
            await self._go_live()
        except (ValueError, media.MediaError, ChainApiError) as failure:
            self.fail(str(failure))
            if self.link:
                self.link.destroy()
                self.link = None
            media.stop(self.stream)
            self.stream = None
        finally:
            button.removeAttribute("aria-busy")
            button.disabled = False
            show("bc-chain-status", False)

    async def _go_live(self):
        fee_rate = await self.api.fee_rate()
        terms = self.read_terms(fee_rate)
        saved = storage.get(SESSION_KEY)
        if not (saved and saved["terms"]["name"] == terms.name and self.identity_secret):
            self.load_identity(new_secret(os.urandom))
        source = by_id("bc-source").value
        if source == "screen":
            self.stream = await media.screen()
        elif source == "file":
            files = by_id("bc-file").files
            self.stream = await media.from_file(files.item(0) if files.length else None, "bc-file-video")
        else:
            self.stream = await media.camera()
        self.link = PeerLink(self.config, peer_id(terms.name))
        try:
            await self.link.open()
        except PeerLinkError as failure:
            if failure.kind == "unavailable-id":
                raise ValueError(f"The name “{terms.name}” is taken: another broadcast is live under it. "
                                 "Choose another name.")
            raise ValueError(f"Could not reach the signalling server: {failure}")
        except asyncio.TimeoutError:
            raise ValueError("The signalling server did not answer. Check the connection and try again.")
        self.terms = terms
        self.link.on_connection = self.connection
        self.link.on_error = lambda kind, message: self.log(f"signalling: {message}")
        storage.put(SESSION_KEY, {"terms": dataclasses.asdict(terms), "identity_secret": self.identity_secret.hex()})
        self.show_live()

    # ---- live ----------------------------------------------------------------

    def show_live(self):
        terms = self.terms
        origin = str(window.location.origin) + str(window.location.pathname)
        url = build_link(origin.rstrip("/"), terms.name, self.identity_pub)
        anchor = by_id("share-link")
        anchor.href = url
        anchor.textContent = url
        by_id("bc-qr").src = qr_data_uri(url)
        set_text("bc-fingerprint", fingerprint(self.identity_pub))
        set_text("bc-live-name", terms.name)
        set_text("bc-terms", f"{rate_summary(terms.rate_sat_per_min)} · minimum deposit "
                 f"{sats(terms.min_deposit_sat)} · lock {duration(terms.refund_lock_s)}")
        media.preview("bc-preview", self.stream)
        show("bc-form", False)
        show("bc-resume-note", False)
        show("bc-stage")
        show("bc-live")
        self.start_ticker()
        self.refresh()

    def start_ticker(self):
        if self.ticker is None:
            self.ticker = asyncio.ensure_future(self.tick_loop())

    async def tick_loop(self):
        count = 0
        while True:
            now = chain.now()
            for ch in list(self.channels.values()):
                ch.run(ch.b.tick(now))
                if count % 60 == 59 and ch.b.state in ("open", "closing"):
                    asyncio.ensure_future(ch.check_funding())
            self.refresh()
            count += 1
            await asyncio.sleep(1)

    def connection(self, conn):
        state = {"channel": None}

        def data(text):
            now = chain.now()
            ch = state["channel"]
            if ch is not None:
                ch.run(ch.b.receive(text, now))
                return
            try:
                msg = parse_message(text)
            except ProtocolError as e:
                conn.send(error(e.code, e.message))
                conn.close()
                return
            if self.ending or self.terms is None:
                conn.send({"v": 1, "type": "end", "reason": "stopped"})
                return
            if msg["type"] == "hello":
                b = Broadcaster.new(self.terms, self.identity_secret, new_secret(os.urandom))
                ch = Channel(self, b, conn)
                self.channels[ch.slot] = ch
                state["channel"] = ch
                ch.run(b.start())
            elif msg["type"] == "resume":
                cid = channel_id(msg["funding_txid"], msg["viewer_pubkey"])
                ch = self.channels.get(cid)
                if ch is None:
                    record = storage.get(f"bc:{self.identity_pub}:{cid}")
                    if record is None:
                        conn.send(error("not_open", "no such channel here"))
                        return
                    ch = Channel(self, Broadcaster.from_record(record), slot=cid)
                    self.channels[cid] = ch
                ch.attach(conn)
                state["channel"] = ch
                ch.run(ch.b.receive(text, now))
            else:
                conn.send(error("not_open", f"{msg['type']} before hello"))

        def closed():
            ch = state["channel"]
            if ch is not None and ch.conn is conn:
                ch.stop_media()
                if ch.b.state == "offered":
                    storage.delete(ch.key)
                    self.channels.pop(ch.slot, None)
            self.refresh()

        conn.on_data = data
        conn.on_close = closed

    def earned(self):
        return sum(ch.b.amount for ch in self.channels.values())

    def refresh(self):
        now = chain.now()
        earned = self.earned()
        set_text("bc-earned", earned)
        set_text("bc-earned-text", f"{sats(earned)} ({btc(earned)})")
        body = by_id("bc-viewers")
        rows = [ch for ch in self.channels.values() if ch.b.state != "offered" or (ch.conn and ch.conn.open)]
        while body.rows.length > len(rows):
            body.deleteRow(-1)
        while body.rows.length < len(rows):
            row = body.insertRow(-1)
            row.setAttribute("data-testid", "viewer-row")
            for _ in range(5):
                row.insertCell(-1)
        for row, ch in zip(body.rows, rows):
            b = ch.b
            deposit = b.channel.value if b.channel else None
            cells = (ch.label, sats(deposit) if deposit else "–", sats(b.amount),
                     duration(ch.seconds_watched(now)), b.state)
            for cell, text in zip(row.cells, cells):
                if cell.textContent != text:
                    cell.textContent = text
        show("bc-no-viewers", not rows)

    def add_closing(self, ch, txid):
        if txid in self.closings_seen:
            return
        self.closings_seen.add(txid)
        item = js.document.createElement("li")
        item.append(js.document.createTextNode(f"viewer {ch.label}: {sats(ch.b.amount)} · "))
        anchor = js.document.createElement("a")
        anchor.href = f"{self.config.explorer}/tx/{txid}"
        anchor.target = "_blank"
        anchor.rel = "noopener"
        anchor.textContent = txid
        anchor.setAttribute("data-testid", "closing-txid")
        anchor.className = "txid"
        item.append(anchor)
        by_id("bc-closings").append(item)
        show("bc-closings-box")

    def log(self, text):
        set_text("bc-end-status", text)

    def chain_waits(self, text):
        """The chain API is slow to answer: say so where the user is looking."""
        if self.terms is None:
            set_text("bc-chain-status", text)
            show("bc-chain-status")
        else:
            self.log(text)

    def chat_line(self, sender, text):
        item = js.document.createElement("li")
        strong = js.document.createElement("strong")
        strong.textContent = sender + ": "
        item.append(strong)
        item.append(js.document.createTextNode(text))
        log = by_id("bc-chat-log")
        log.append(item)
        log.scrollTop = log.scrollHeight

    def send_chat(self, event):
        event.preventDefault()
        field = by_id("bc-chat-input")
        text = field.value.strip()
        if not text or self.terms is None:
            return
        field.value = ""
        for ch in self.channels.values():
            if ch.conn and ch.conn.open:
                ch.run(ch.b.chat(text, self.terms.name))
        self.chat_line("you", text)

    def copy_link(self):
        js.navigator.clipboard.writeText(by_id("share-link").href)
        show("bc-copy-done")

    # ---- the end -------------------------------------------------------------

    def end(self):
        self.ending = True
        by_id("bc-end").disabled = True
        now = chain.now()
        for ch in list(self.channels.values()):
            ch.run(ch.b.stop(now))
        asyncio.ensure_future(self.finish())

    async def finish(self):
        while True:
            pending = [ch for ch in self.channels.values() if ch.b.state not in ("closed",)]
            if not pending:
                break
            self.log(f"Closing {len(pending)} channel(s): waiting for the chain to accept the closing "
                     "transactions…")
            await asyncio.sleep(1)
        media.stop(self.stream)
        self.stream = None
        if self.link:
            self.link.destroy()
            self.link = None
        storage.delete(SESSION_KEY)
        dot = by_id("bc-live-dot")
        dot.textContent = "ended"
        dot.classList.add("ended")
        show("bc-stage", False)
        show("bc-end", False)
        show("bc-chat-form", False)
        for ch in self.channels.values():
            storage.delete(ch.key)
        self.log(f"Broadcast ended. Earned {sats(self.earned())}, paid out by the closing transactions under “Closed channels”.")
