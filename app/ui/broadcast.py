"""The broadcaster's screen: set up terms, go live, one channel core object per viewer.

Every connection gets a Lobby (app/channel/lobby.py): it speaks for no channel until the
viewer says hello or resumes with K1's signature. A Web Lock lets one tab at a time drive the
broadcast (v2 §D); a reload resumes it by itself. DOM writing is in broadcast_view.py, each
viewer's channel in broadcast_channel.py.
"""

import asyncio
import dataclasses
import os

from pyodide.ffi import to_js
from pyscript import window

from app.channel import Bind, Broadcaster, Disconnect, Lobby, Send, Terms, new_secret, states
from app.channel.link import build_link
from app.channel.signatures import private_key
from app.esplora import ChainApiError
from app.relay_room import RelayError, Room
from app.ui import broadcast_form, broadcast_view as view, chain, devnet_address, fiat, field_errors, media, storage
from app.ui.broadcast_channel import ViewerChannel
from app.ui.dom import by_id, on, set_text, show
from app.ui.peerlink import PeerLink, PeerLinkError, peer_id
from app.ui.relay import RelayBroadcast
from app.ui.tabs import TabLock

SESSION_KEY = "broadcast"
RELAY_ROOM_KEY = "broadcast-relay-room"  # [room id, secret] of the room this browser last opened on the relay
ID_RETRIES = 10  # after a reload the signalling server may hold the old connection's id a moment


class BroadcastPage:
    def __init__(self, config):
        self.config = config
        self.api = chain.esplora(config, on_wait=self.chain_waits)
        self.channels, self.link, self.stream, self.terms = {}, None, None, None
        self.relay = None  # the room on the relay (issue 15), when the video goes through one
        self.identity_secret = self.identity_pub = None
        self.ending = self.active = False
        self.price = None  # of one BTC in fiat.CURRENCY (mainnet only)
        self.ticker = None
        self.lock = TabLock("streamium-broadcast")
        self.lock.on_lost = self.taken_over

    # ---- setup ---------------------------------------------------------------

    def enter(self):
        on(by_id("bc-form"), "submit", self.submit)
        for field in ("bc-rate", "bc-lock"):
            on(by_id(field), "input", lambda *_: broadcast_form.preview(self.price))
        field_errors.clear_when_changed("bc-name", "bc-payout", *(field for field, *_ in broadcast_form.NUMBERS))
        if self.config.devnet:
            show("bc-own-payout")
            on(by_id("bc-own-payout"), "click", lambda *_: self.use_own_payout())
        on(by_id("bc-source"), "change", lambda *_: show("bc-file-label", by_id("bc-source").value == "file"))
        on(by_id("bc-end"), "click", lambda *_: self.ask_to_end())
        on(by_id("bc-end-yes"), "click", lambda *_: self.end())
        on(by_id("bc-end-no"), "click", lambda *_: show("bc-end-confirm", False))
        on(by_id("bc-again"), "click", lambda *_: window.location.reload())
        on(by_id("bc-copy"), "click", lambda *_: window.navigator.clipboard.writeText(by_id("share-link").href))
        if hasattr(window.navigator, "share"):  # the phone's own share sheet, where the browser has one
            show("bc-share")
            on(by_id("bc-share"), "click", lambda *_: window.navigator.share(
                to_js({"title": by_id("bc-live-name").textContent, "url": by_id("share-link").href},
                      dict_converter=window.Object.fromEntries)))
        on(by_id("bc-chat-form"), "submit", self.send_chat)
        on(by_id("bc-take-over"), "click", lambda *_: asyncio.ensure_future(self.claim_tab(take_over=True)))
        on(by_id("bc-source-again"), "click", lambda *_: asyncio.ensure_future(self.choose_source_again()))
        if self.config.network == "regtest":
            by_id("bc-lock").min = "60"
        show("bc-relay-label", self.config.sfu is not None)
        broadcast_form.preview()
        asyncio.ensure_future(self.show_fiat())
        asyncio.ensure_future(self.claim_tab())

    async def show_fiat(self):
        self.price = await fiat.price(self.config)
        broadcast_form.preview(self.price)

    async def claim_tab(self, take_over=False):
        if not await self.lock.acquire(take_over):
            view.elsewhere()
            return
        show("bc-elsewhere", False)
        show("bc-form")
        self.active = True
        self.recover()
        saved = storage.get(SESSION_KEY)
        if saved:
            self.restore(saved)

    def taken_over(self):
        self.active = False
        if self.link:
            self.link.destroy()
            self.link = None
        media.stop(self.stream)
        self.stop_relay()
        view.elsewhere(taken_over=True)

    def restore(self, saved):
        terms = saved["terms"]
        broadcast_form.fill(terms)
        self.load_identity(bytes.fromhex(saved["identity_secret"]))
        if saved.get("live"):
            by_id("bc-source").value = saved.get("source", "camera")
            by_id("bc-relay-key").value = saved.get("relay_key", "")
            asyncio.ensure_future(self.go_live(Terms(**terms)))
        elif self.channels:
            set_text("bc-resume-note", f"Your broadcast “{terms['name']}” ended; its channels are settling. "
                     "Keep this page open until they are buried in the chain.")
            show("bc-resume-note")

    def load_identity(self, secret):
        self.identity_secret = secret
        self.identity_pub = private_key(secret).sec().hex()

    def recover(self):
        """Once this tab holds the lock: rebuild every channel from its record, so that a resume
        finds it live and under its own broadcast's key; re-broadcast closings (§7, v2 §C)."""
        for key in storage.keys("bc:"):  # every broadcast's: one tab holds them all (protocol §12)
            record = storage.get(key)
            if not record:
                continue
            b = Broadcaster.from_record(record, self.config.buried_confirmations)
            if b.state == states.OFFERED or states.may_forget(b.state):
                storage.delete(key)
                continue
            _, identity, slot = key.split(":", 2)
            ch = ViewerChannel(self, b, slot=slot, identity=identity)
            self.channels[ch.slot] = ch
            if b.channel_id and slot != b.channel_id:
                ch.persist(record)  # filed before channel ids held K2: moved under its id
            if b.closing_txid or b.spent_by:
                ch.closed(b.spent_by or b.closing_txid)
            ch.run(b.reload())
        if self.channels:
            show("bc-live")
            self.start_ticker()

    def use_own_payout(self):
        """Devnet: pay out to an address of this browser's own (no wallet needed to try it)."""
        field = by_id("bc-payout")
        field.value = devnet_address.own_address("bc-payout-key", self.config.network)
        field_errors.clear("bc-payout")

    def submit(self, event):
        event.preventDefault()
        if self.active:
            asyncio.ensure_future(self.go_live())

    async def go_live(self, saved_terms=None):
        """Go live with the form's terms, or after a reload with the saved ones (same link, same offer)."""
        self.ending = False
        button = by_id("bc-start")
        button.setAttribute("aria-busy", "true")
        button.disabled = True
        view.fail("")
        try:
            await self._go_live(saved_terms)
        except field_errors.FieldError as wrong:
            field_errors.show_error(wrong)
        except ChainApiError as failure:
            view.fail(f"The chain service at {self.config.esplora} cannot be reached to read the network's fee "
                      f"rate, so no offer can be made yet ({failure}). Check the connection and press Go live to "
                      "try again.")
        except (ValueError, media.MediaError) as failure:
            view.fail(str(failure))
            if self.link:
                self.link.destroy()
                self.link = None
            media.stop(self.stream)
            self.stream = None
            self.stop_relay()
        finally:
            button.removeAttribute("aria-busy")
            button.disabled = False
            view.chain_status("")

    async def _go_live(self, saved_terms):
        if saved_terms is None:
            fields = broadcast_form.read(self.config.network)  # said at the field, before the chain is asked
            terms = broadcast_form.terms(self.config.network, fields, await self.api.fee_rate())
        else:
            terms = saved_terms
        saved = storage.get(SESSION_KEY)
        if not (saved and saved["terms"]["name"] == terms.name and self.identity_secret):
            self.load_identity(new_secret(os.urandom))
        source = by_id("bc-source").value
        if saved_terms is None or source == "camera":
            self.stream = await media.open_source(source, by_id("bc-file").files, "bc-file-video")
        else:
            view.needs_source(source)
        await self.open_link(peer_id(terms.name), retries=ID_RETRIES if saved_terms else 1)
        relay_key = by_id("bc-relay-key").value.strip() if self.config.sfu else ""
        if relay_key and self.stream is not None:
            await self.start_relay(relay_key)
        self.terms = terms
        storage.put(SESSION_KEY, {"terms": dataclasses.asdict(terms), "identity_secret": self.identity_secret.hex(),
                                  "live": True, "source": source, "relay_key": relay_key})
        origin = str(window.location.origin) + str(window.location.pathname)
        view.live(terms, build_link(origin.rstrip("/"), terms.name, self.identity_pub), self.identity_pub, self.stream,
                  self.relay and self.relay.url)
        self.start_ticker()
        self.refresh()

    async def start_relay(self, key):
        """Publish the one stream to a room of our own on the relay; viewers are let in as they pay."""
        url = self.config.sfu.url(str(window.location.hostname))
        self.stop_relay()
        saved = storage.get(RELAY_ROOM_KEY)
        relay = RelayBroadcast(url, view.log)
        try:
            await relay.start(key, self.stream, self.config.ice_servers, saved and Room(*saved))
        except (RelayError, asyncio.TimeoutError) as failure:
            raise ValueError(f"The video relay at {url} did not take the stream ({failure}). Check the relay "
                             "key, or empty it to send the video to each viewer from this browser.")
        storage.put(RELAY_ROOM_KEY, [relay.gate.room.room_id, relay.gate.room.secret])
        self.relay = relay

    def stop_relay(self):
        """The room removed from the relay, in the background (a reload would remove it anyway)."""
        if self.relay is not None:
            asyncio.ensure_future(self.relay.close())
            self.relay = None

    async def open_link(self, pid, retries):
        for attempt in range(retries):
            self.link = PeerLink(self.config, pid)
            try:
                await self.link.open()
                break
            except PeerLinkError as failure:
                self.link.destroy()
                self.link = None
                if failure.kind != "unavailable-id":
                    raise ValueError(f"Could not reach the signalling server: {failure}")
                if attempt == retries - 1:
                    raise ValueError(f"The name “{by_id('bc-name').value}” is taken: another broadcast is live "
                                     "under it. Choose another name.")
                await asyncio.sleep(1)
            except asyncio.TimeoutError:
                raise ValueError("The signalling server did not answer. Check the connection and try again.")
        self.link.on_connection = self.connection
        self.link.on_error = lambda kind, message: view.log(f"signalling: {message}")

    async def choose_source_again(self):
        try:
            self.stream = await media.open_source(by_id("bc-source").value, by_id("bc-file").files, "bc-file-video")
        except media.MediaError as failure:
            view.fail(str(failure))
            return
        media.preview("bc-preview", self.stream)
        show("bc-source-again", False)
        relay_key = (storage.get(SESSION_KEY) or {}).get("relay_key")
        if relay_key:
            try:
                await self.start_relay(relay_key)  # a new room: every viewer is let in again below
            except ValueError as failure:
                view.fail(str(failure))
                return
        for ch in self.channels.values():
            if ch.b.streaming:
                ch.start_media()

    def chain_waits(self, text):
        if self.terms is None:
            view.chain_status(text)
        else:
            view.log(text)

    # ---- connections -----------------------------------------------------------

    def connection(self, conn):
        lobby = Lobby(self.find, self.new_channel)
        conn.on_data = lambda text: self.route(lobby, conn, text)
        conn.on_close = lambda: self.connection_closed(lobby, conn)

    def find(self, funding_txid, viewer_pubkey):
        """This page's channels with that funding (`recover` made every stored one live)."""
        prefix = f"{funding_txid}:{viewer_pubkey}:"
        return [ch.b for slot, ch in self.channels.items() if slot.startswith(prefix)]

    def new_channel(self):
        if self.ending or self.terms is None or not self.active:
            return None
        return Broadcaster.new(self.terms, self.identity_secret, new_secret(os.urandom),
                               self.config.buried_confirmations, taken=lambda *funding: bool(self.find(*funding)))

    def route(self, lobby, conn, text):
        """One message of one connection: through its lobby, to the channel it speaks for. A
        connection another one replaced is not heard at all: its channel must not change unseen."""
        if not self.active:
            return
        replaced = self.channel_of(lobby.broadcaster)
        if lobby.broadcaster is not None and (replaced is None or replaced.conn is not conn):
            return
        actions = lobby.receive(text, chain.now())
        bound = next((a.broadcaster for a in actions if isinstance(a, Bind)), None)
        ch = self.attach(bound, conn) if bound else self.channel_of(lobby.broadcaster)
        if ch is None:
            for action in actions:
                if isinstance(action, Send):
                    conn.send(action.message)
                elif isinstance(action, Disconnect):
                    conn.close()
        else:
            ch.run([a for a in actions if not isinstance(a, Bind)])

    def channel_of(self, b):
        return next((ch for ch in self.channels.values() if ch.b is b), None) if b else None

    def attach(self, b, conn):
        ch = self.channel_of(b)
        if ch is None:
            ch = ViewerChannel(self, b, conn, slot=b.channel_id, identity=self.identity_pub)
            self.channels[ch.slot] = ch
        ch.attach(conn)
        return ch

    def connection_closed(self, lobby, conn):
        ch = self.channel_of(lobby.broadcaster)
        if ch is not None and ch.conn is conn:
            ch.stop_media()
            if ch.b.state == states.OFFERED:
                storage.delete(ch.key)
                self.channels.pop(ch.slot, None)
        self.refresh()

    # ---- the clock ----------------------------------------------------------------

    def start_ticker(self):
        if self.ticker is None:
            self.ticker = asyncio.ensure_future(self.tick_loop())

    async def tick_loop(self):
        while self.active:
            now = chain.now()
            for ch in list(self.channels.values()):
                try:
                    ch.run(ch.b.tick(now))
                    ch.check_chain(now)
                    if states.may_forget(ch.b.state):
                        storage.delete(ch.key)
                except Exception as failure:  # noqa: BLE001  (one channel's trouble stops no other's clock)
                    view.log(f"viewer {ch.label}: {failure}")
            self.refresh()
            await asyncio.sleep(1)

    def refresh(self):
        view.viewers(list(self.channels.values()), chain.now())

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
        view.chat_line("you", text)

    # ---- the end -------------------------------------------------------------

    def ask_to_end(self):
        """What ending does, before it is done: it cannot be taken back."""
        live = [ch for ch in self.channels.values() if ch.b.state in states.LIVE]
        view.ask_to_end(len(live), sum(ch.b.earned for ch in live))

    def end(self):
        show("bc-end-confirm", False)
        self.ending = True
        by_id("bc-end").disabled = True
        now = chain.now()
        for ch in list(self.channels.values()):
            ch.run(ch.b.stop(now))
        asyncio.ensure_future(self.finish())

    async def finish(self):
        """Stop serving once every channel is settled; its records stay until the chain buries them."""
        saved = storage.get(SESSION_KEY) or {}
        storage.put(SESSION_KEY, {**saved, "live": False})
        while pending := [ch for ch in self.channels.values() if ch.b.state in states.LIVE]:
            view.log(f"Closing {len(pending)} channel(s): waiting for the chain to accept the closing "
                     "transactions…")
            await asyncio.sleep(1)
        media.stop(self.stream)
        self.stream = None
        self.stop_relay()
        if self.link:
            self.link.destroy()
            self.link = None
        view.ended(sum(ch.b.earned for ch in self.channels.values()))
        while any(not states.may_forget(ch.b.state) for ch in self.channels.values()):
            await asyncio.sleep(5)
        storage.delete(SESSION_KEY)
