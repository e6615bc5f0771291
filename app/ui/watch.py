"""The viewer's screen: the offer, the deposit, funding, the video, and the way out.

One channel per share link in this browser, kept in localStorage: a reload resumes it,
and a channel the broadcaster abandoned is refunded after its lock time.
"""

import asyncio
import os

import js
from pyodide.ffi import create_proxy
from pyscript import window
from pyscript.ffi import is_none

from app.amounts import btc, duration, rate_summary, sats
from app.channel import Viewer, new_secret, parse_link
from app.channel.addresses import script_address
from app.channel.script import p2wpkh
from app.channel.signatures import private_key
from app.esplora import ChainApiError
from app.qr import bitcoin_uri, qr_data_uri
from app.ui import chain, storage
from app.ui.dom import by_id, on, set_text, show
from app.ui.peerlink import PeerLink, PeerLinkError, peer_id
from app.ui.serial import OnlyOne, SerialQueue

LIVE = ("refund_signed", "open", "closing")
FUNDING_POLL_S = 2  # how often the funding address is checked, unless told to check now
END_REASONS = {
    "stopped": "The broadcaster ended the stream.",
    "unpaid": "The broadcaster stopped the stream: payments stopped arriving.",
    "exhausted": "Your deposit is used up.",
    "expiring": "The channel reached its time limit and was settled.",
    "refund": "Your deposit came back through the time-locked refund.",
    "released": "The broadcaster released your deposit.",
    "abandoned": "You left before funding the channel.",
}


class WatchPage:
    def __init__(self, config, fragment):
        self.config = config
        self.api = chain.esplora(config, on_wait=self.status)
        self.fragment = fragment
        self.v = None
        self.link = None
        self.conn = None
        self.queue = SerialQueue()
        self.spent_poll, self.mtp_poll = OnlyOne(), OnlyOne()
        self.tasks = []
        self.last_video_time = None
        self.mtp = None
        self.mtp_checked = 0
        self.claiming = False
        self.retry_at = None
        self.done = False
        self.max_fee_rate = None
        self.auto_claim = False

    # ---- start ---------------------------------------------------------------

    def enter(self):
        on(by_id("w-accept-form"), "submit", self.accept)
        on(by_id("w-minutes"), "input", lambda *_: self.deposit_from_minutes())
        on(by_id("w-deposit"), "input", lambda *_: self.show_total())
        for button in by_id("w-presets").querySelectorAll("button"):
            on(button, "click", self.preset)
        on(by_id("w-faucet"), "click", lambda *_: asyncio.ensure_future(self.faucet()))
        on(by_id("w-copy-address"), "click", lambda *_: self.copy_address())
        on(by_id("w-stop"), "click", lambda *_: self.stop())
        on(by_id("w-refund-claim"), "click", lambda *_: asyncio.ensure_future(self.claim_refund()))
        on(by_id("w-again"), "click", lambda *_: self.again())
        on(by_id("w-unmute"), "click", lambda *_: self.unmute())
        on(by_id("w-chat-form"), "submit", self.send_chat)
        try:
            self.share = parse_link(self.fragment)
        except ValueError:
            self.fail("This is not a complete share link: ask the broadcaster for the link "
                      "(it ends with #/watch/<name>/<key>).")
            return
        self.key = f"viewer:{self.share.identity_pubkey}:{self.share.stream}"
        set_text("w-title", self.share.stream)
        record = storage.get(self.key)
        if record and record["state"] not in ("joining", "closed"):
            self.v = Viewer.from_record(record)
            self.auto_claim = True  # a later visit claims the refund by itself once it is due
        elif record and record["state"] == "closed" and record.get("closing_txid"):
            self.v = Viewer.from_record(record)
            self.show_result()
            return
        else:
            self.new_viewer()
        self.tasks.append(asyncio.ensure_future(self.tick_loop()))
        if self.v.state == "expired":
            self.status("Claiming your refund: the broadcaster did not settle this channel in time.")
            self.run(self.v.reload())
        else:
            if self.v.state == "funding":
                self.show_funding_for(self.v.funding_address, self.v.funding_amount(self.v.capacity))
            asyncio.ensure_future(self.connect())

    def new_viewer(self):
        self.v = Viewer.new(self.fragment, self.config.network, new_secret(os.urandom))

    def again(self):
        storage.delete(self.key)
        window.location.reload()

    async def connect(self):
        if self.done:
            return
        self.status(f"Connecting to “{self.share.stream}”…")
        if self.link is None:
            self.link = PeerLink(self.config)
            self.link.on_call = self.incoming_call
            self.link.on_error = self.peer_error
            try:
                await self.link.open()
            except (PeerLinkError, asyncio.TimeoutError) as failure:
                self.link = None
                self.status(f"The signalling server is not reachable ({failure}); retrying…")
                self.retry_at = chain.now() + 5
                return
        target = peer_id(self.share.stream)
        conn = self.link.connect(target)
        self.conn = conn

        def opened():
            self.status("Connected. Waiting for the broadcaster's offer…" if self.v.state == "joining"
                        else "Connected.")
            self.run(self.v.connected(chain.now()))

        def data(text):
            if conn is self.conn:
                self.run(self.v.receive(text, chain.now()))

        def closed():
            if conn is self.conn and not self.done:
                self.conn = None
                if self.v.state in ("joining", "funding", "refund_signed", "open"):
                    self.status("The connection to the broadcaster was lost. Reconnecting…")
                    self.retry_at = chain.now() + 3
                self.refresh()

        conn.on_open, conn.on_data, conn.on_close = opened, data, closed

    def peer_error(self, kind, message):
        if kind == "peer-unavailable":
            self.conn = None
            self.status(f"“{self.share.stream}” is not live right now. Trying again in a few seconds…")
            self.retry_at = chain.now() + 4
        elif kind in ("network", "disconnected", "server-error", "socket-error", "socket-closed"):
            self.link.destroy()
            self.link, self.conn = None, None
            self.status("The signalling server connection dropped. Reconnecting…")
            self.retry_at = chain.now() + 4

    # ---- actions -------------------------------------------------------------

    def run(self, actions):
        for action in actions:
            kind = action.kind
            if kind == "persist":
                storage.put(self.key, action.record)
            elif kind == "send":
                message = action.message
                if message.get("type") == "error":
                    self.refused(message)
                if self.conn:
                    self.conn.send(message)
            elif kind == "broadcast":
                self.queue.run(self.publish(action))
            elif kind == "show_offer":
                self.show_offer(action.offer)
            elif kind == "show_funding":
                self.show_funding_for(action.address, action.amount)
            elif kind == "chat":
                self.chat_line(action.sender or "broadcaster", action.text)
            elif kind == "peer_error":
                self.fail(f"The broadcaster reported a problem: {action.message}")
            elif kind == "disconnect":
                if self.conn:
                    self.conn.close()
            elif kind == "closed":
                if self.v.state == "closed":
                    self.show_result()
                else:
                    self.claimed_close(action.txid)
        self.refresh()

    def refused(self, message):
        code, text = message.get("code"), message.get("message", "")
        if code == "bad_offer":
            self.fail("The offer was refused: it is not signed by the broadcaster named in your link "
                      f"({text}). This may be an impostor; nothing was paid.")
            self.done = True
            if self.conn:
                self.conn.close()
        elif code in ("bad_refund", "bad_funding"):
            self.fail(f"The broadcaster sent something this page refused: {text}")

    async def publish(self, action):
        txid = await chain.broadcast_until_known(
            self.api, action.tx, action.txid, action.not_before,
            on_wait=lambda why: self.status(f"Publishing {action.txid[:10]}…: {why}"),
            give_up=lambda: self.v.state == "closed")
        if txid and self.v.channel and txid != self.v.channel.funding.txid:
            self.status("Transaction published: waiting for the chain to show the channel spent…")
            await self.check_spent()

    def claimed_close(self, txid):
        """The broadcaster says it settled; the chain decides (the viewer keeps its refund until then)."""
        show("w-player", False)
        self.stop_video()
        self.status(f"The broadcaster reports the closing transaction {txid[:16]}…; "
                    "waiting for the chain to show it…")

    async def check_spent(self):
        """While closing or expired: has the channel output been spent (T3, T3(0) or T2)?"""
        v = self.v
        if not v.channel or not v.funding_tx or v.state not in ("refund_signed", "open", "closing", "expired"):
            return
        try:
            spender = await self.api.outspend(v.channel.funding.txid, v.channel.funding.vout)
        except ChainApiError as failure:
            self.status(f"The chain API is not answering ({failure}); still trying…")
            return
        if spender and v.state != "closed":
            self.run(v.funding_spent(spender, chain.now()))

    # ---- offer and funding ---------------------------------------------------

    def show_offer(self, offer):
        set_text("w-name", offer["name"])
        set_text("w-rate", offer["rate_sat_per_min"])
        set_text("w-rate-summary", rate_summary(offer["rate_sat_per_min"]))
        set_text("w-min-deposit", sats(offer["min_deposit_sat"]))
        set_text("w-pubkey", offer["channel_pubkey"])
        set_text("w-lock", duration(offer["refund_lock_s"]))
        devnet = self.config.devnet
        show("w-refund-label", not devnet)
        show("w-refund-devnet", devnet)
        if devnet:
            set_text("w-refund-own", self.own_address())
        terms = self.v.offer.terms
        set_text("w-fees", f"First payment {sats(terms.first_payment_sat)} (covers {duration(terms.prepay_s)} "
                 f"ahead), then every {duration(terms.pay_interval_s)} for what you watched. Out of the deposit: "
                 f"closing fee {sats(self.v.close_fee(self.change_guess()))}, or refund fee "
                 f"{sats(self.v.refund_fee(self.change_guess()))} if the broadcaster disappears. "
                 f"Network fee rate {terms.fee_rate_sat_vb} sat/vB.")
        self.deposit_from_minutes()
        self.status("Choose how long you want to watch. Nothing is paid until you fund the channel.")
        show("w-offer")
        asyncio.ensure_future(self.load_fee_limit())

    def change_guess(self):
        if self.config.devnet:
            return self.own_address()
        return None

    async def load_fee_limit(self):
        """Refuse an offer asking a fee rate far above the chain's own estimate."""
        try:
            self.max_fee_rate = max(2, 3 * await self.api.fee_rate())
        except ChainApiError:
            self.max_fee_rate = None

    def own_address(self):
        """Devnet: a fresh address of this browser's own, its key kept beside the channel."""
        key = self.key + ":refund-key"
        secret = storage.get(key)
        if secret is None:
            secret = new_secret(os.urandom).hex()
            storage.put(key, secret)
        return script_address(p2wpkh(private_key(bytes.fromhex(secret)).sec()), self.config.network)

    def preset(self, event):
        by_id("w-minutes").value = event.currentTarget.getAttribute("data-minutes")
        self.deposit_from_minutes()

    def deposit_from_minutes(self):
        terms = self.v.offer and self.v.offer.terms
        if not terms:
            return
        try:
            minutes = max(1, int(by_id("w-minutes").value))
        except ValueError:
            return
        by_id("w-deposit").value = str(max(terms.min_deposit_sat, terms.rate_sat_per_min * minutes))
        self.show_total()

    def deposit(self):
        terms = self.v.offer.terms
        raw = by_id("w-deposit").value.strip()
        if not raw.isdigit():
            raise ValueError("Enter a deposit in whole sats.")
        value = int(raw)
        if value < terms.min_deposit_sat:
            raise ValueError(f"The deposit must be at least {sats(terms.min_deposit_sat)}.")
        return value

    def show_total(self):
        try:
            capacity = self.deposit()
        except ValueError as e:
            set_text("w-total", str(e))
            return
        terms = self.v.offer.terms
        set_text("w-total", f"Deposit {sats(capacity)}: up to {duration(capacity * 60 // terms.rate_sat_per_min)} "
                 f"of video. You send {sats(self.v.funding_amount(capacity))} including the funding fee.")

    def accept(self, event):
        event.preventDefault()
        self.fail("")
        try:
            capacity = self.deposit()
            change = self.own_address() if self.config.devnet else by_id("w-refund").value.strip()
            if not change:
                raise ValueError("Enter your refund address: change and refunds go there.")
            actions = self.v.accept(capacity, change, chain.now(), max_fee_rate=self.max_fee_rate)
        except ValueError as e:
            self.fail(str(e))
            return
        show("w-offer", False)
        self.run(actions)

    def show_funding_for(self, address, amount):
        set_text("funding-address", address)
        set_text("funding-amount", amount)
        set_text("w-funding-amount-text", f"{sats(amount)} ({btc(amount)})")
        uri = bitcoin_uri(address, amount, self.share.stream)
        by_id("w-bip21").href = uri
        by_id("w-qr").src = qr_data_uri(uri)
        show("w-faucet", self.config.devnet)
        show("w-funding")
        self.status("Waiting for your payment…")
        self.check_funding = asyncio.Event()
        self.tasks.append(asyncio.ensure_future(self.poll_funding(address, amount)))

    async def poll_funding(self, address, amount):
        """Check the address every FUNDING_POLL_S, or at once when `check_funding` is set."""
        while self.v.state == "funding" and not self.v.utxos:
            try:
                utxos = await self.api.address_utxos(address)
                total = sum(u.value for u in utxos)
                if total >= amount:
                    set_text("w-funding-status", "Payment received. Setting up the channel with the broadcaster…")
                    coins = [{"txid": u.txid, "vout": u.vout, "value": u.value} for u in utxos]
                    try:
                        self.run(self.v.funded(coins, chain.now()))
                    except ValueError as e:
                        self.fail(str(e))
                    break
                if total:
                    set_text("w-funding-status", f"Received {sats(total)} of {sats(amount)}: waiting for the rest…")
            except ChainApiError as e:
                set_text("w-funding-status", f"The chain API is not answering ({e}); still trying…")
            try:
                await asyncio.wait_for(self.check_funding.wait(), FUNDING_POLL_S)
            except asyncio.TimeoutError:
                pass
            self.check_funding.clear()

    async def faucet(self):
        button = by_id("w-faucet")
        button.disabled = True
        button.setAttribute("aria-busy", "true")
        status, body = await chain.post_json(self.config.esplora + "/devnet/faucet",
                                             {"address": by_id("funding-address").textContent,
                                              "amount_sat": int(by_id("funding-amount").textContent)})
        button.removeAttribute("aria-busy")
        if status == 200 and isinstance(body, dict):
            set_text("w-funding-status", f"Faucet sent {str(body.get('txid'))[:16]}…; waiting for it to arrive.")
            self.check_funding.set()
        else:
            button.disabled = False
            self.fail(f"The devnet faucet refused: {str(body)[:200]}")

    def copy_address(self):
        js.navigator.clipboard.writeText(by_id("funding-address").textContent)
        show("w-copy-done")

    # ---- video ---------------------------------------------------------------

    def incoming_call(self, call):
        if self.v.state not in ("open", "closing"):
            call.close()
            return
        call.answer()
        video = by_id("remote-video")

        def stream(remote, *_):
            video.srcObject = remote
            self.last_video_time = None
            video.muted = False
            promise = video.play()

            def blocked(*_):
                video.muted = True
                video.play()
                show("w-unmute-box")
            promise.catch(create_proxy(blocked))
        call.on("stream", create_proxy(stream))

    def stop_video(self):
        video = by_id("remote-video")
        video.pause()
        video.srcObject = None
        self.last_video_time = None

    def unmute(self):
        by_id("remote-video").muted = False
        show("w-unmute-box", False)

    def measure_video(self):
        video = by_id("remote-video")
        if is_none(video.srcObject) or video.paused or video.readyState < 2:
            self.last_video_time = None
            return
        current = float(video.currentTime)
        if self.last_video_time is not None:
            delta = current - self.last_video_time
            if 0 < delta <= 5:
                self.run(self.v.received_video(delta))
        self.last_video_time = current

    # ---- clock -----------------------------------------------------------------

    async def tick_loop(self):
        while True:
            try:
                await self.tick()
            except Exception as failure:  # noqa: BLE001  (keep the clock running; say what broke)
                self.status(f"Problem: {failure}")
            await asyncio.sleep(1)

    async def tick(self):
        now = chain.now()
        v = self.v
        if v.state == "open":
            self.measure_video()
        self.run(v.tick(now))
        if self.retry_at and now >= self.retry_at and not self.done and v.state in ("joining", "funding", "refund_signed", "open"):
            self.retry_at = None
            if self.link is None:
                await self.connect()
            elif self.conn is None or self.conn.closed:
                await self.connect()
        if v.state in ("closing", "expired") and now % 2 == 0:
            self.spent_poll.start(self.check_spent)
        elif v.state in ("refund_signed", "open") and now % 10 == 0:
            self.spent_poll.start(self.check_spent)  # the broadcaster may settle without reaching us
        if v.channel and v.state in LIVE and now - self.mtp_checked >= 5:
            self.mtp_checked = now
            self.mtp_poll.start(self.check_mtp)

    async def check_mtp(self):
        try:
            self.mtp = await self.api.tip_median_time()
        except ChainApiError:
            pass
        self.refund_panel()

    def refund_panel(self):
        v = self.v
        lock = v.channel.lock_time
        lost = self.conn is None or self.conn.closed
        ready = self.mtp is not None and self.mtp > lock  # Core: final once nLockTime < MTP
        if not (lost or ready) or self.claiming:
            return
        if ready and self.auto_claim:
            asyncio.ensure_future(self.claim_refund())
            return
        show("w-refund-box")
        button = by_id("w-refund-claim")
        button.disabled = not ready
        if ready:
            set_text("w-refund-text", "The lock time has passed: you can take your deposit back now.")
        else:
            wait = lock - max(chain.now(), self.mtp or 0)
            set_text("w-refund-text", "If the broadcaster does not come back, you can claim your deposit back "
                     f"after the lock time, in about {duration(wait)}. Your refund is already signed and stored.")

    async def claim_refund(self):
        self.claiming = True
        by_id("w-refund-claim").disabled = True
        try:
            mtp = await self.api.tip_median_time()
        except ChainApiError as failure:
            self.claiming = False
            by_id("w-refund-claim").disabled = False
            self.status(f"The chain service did not answer ({failure}); try the refund again in a moment.")
            return
        self.status("Claiming your refund…")
        self.run(self.v.tick(max(chain.now(), mtp)))

    def stop(self):
        by_id("w-stop").disabled = True
        self.status("Closing the channel: the broadcaster settles the last payment…")
        self.run(self.v.close(chain.now()))

    # ---- display ---------------------------------------------------------------

    def refresh(self):
        v = self.v
        if v is None:
            return
        set_text("w-state", v.state)
        show("w-state-line")
        if v.state in ("funding",) and v.utxos:
            show("w-funding", False)
        if v.state in ("open", "closing") and v.channel and not self.done:
            show("w-funding", False)
            show("w-player")
            terms = v.offer.terms
            balance = v.channel.max_amount - v.amount
            now = chain.now()
            ahead = max(0, (v.paid_until or now) - now)
            left = balance * 60 // terms.rate_sat_per_min + ahead
            set_text("paid-total", v.amount)
            set_text("w-paid-text", sats(v.amount))
            set_text("w-balance", sats(balance))
            set_text("w-time-left", duration(left))
            show("w-low-funds", v.state == "open" and left < max(60, 3 * terms.pay_interval_s))
            if v.state == "open" and self.conn and not self.conn.closed:
                self.status(f"Watching “{v.offer.terms.name}”: paying {rate_summary(terms.rate_sat_per_min)}.")

    async def show_outcome(self, reason):
        """What the closing transaction actually paid and returned, as the chain has it."""
        v = self.v
        try:
            outputs = await self.api.tx_outputs(v.closing_txid)
        except ChainApiError:
            outputs = None
        if outputs is None:
            return
        payout = v.offer.terms.payout_script.hex()
        change = v.channel.change_script.hex()
        paid = sum(value for spk, value in outputs if spk == payout)
        back = sum(value for spk, value in outputs if spk == change)
        set_text("w-result-text", f"{reason} Paid {sats(paid)}; {sats(back)} returned to {v.change_address}.")

    def show_result(self):
        v = self.v
        self.done = True
        for element in ("w-player", "w-offer", "w-funding", "w-refund-box"):
            show(element, False)
        self.stop_video()
        if self.conn:
            self.conn.close()
        if self.link:
            self.link.destroy()
            self.link = None
        reason = END_REASONS.get(v.end_reason or "", "You stopped watching.")
        set_text("w-result-text", reason)
        if v.channel and v.closing_txid:
            asyncio.ensure_future(self.show_outcome(reason))
        box = by_id("w-closings")
        box.textContent = ""
        if v.closing_txid:
            item = js.document.createElement("li")
            item.append(js.document.createTextNode("Closing transaction: "))
            anchor = js.document.createElement("a")
            anchor.href = f"{self.config.explorer}/tx/{v.closing_txid}"
            anchor.target = "_blank"
            anchor.rel = "noopener"
            anchor.className = "txid"
            anchor.textContent = v.closing_txid
            anchor.setAttribute("data-testid", "closing-txid")
            item.append(anchor)
            box.append(item)
        show("w-result")
        set_text("w-state", v.state)
        show("w-state-line")
        self.status("")

    def chat_line(self, sender, text):
        item = js.document.createElement("li")
        strong = js.document.createElement("strong")
        strong.textContent = f"{sender}: "
        item.append(strong)
        item.append(js.document.createTextNode(text))
        by_id("w-chat-log").append(item)

    def send_chat(self, event):
        event.preventDefault()
        field = by_id("w-chat-input")
        text = field.value.strip()
        if text and self.conn:
            field.value = ""
            self.run(self.v.chat(text))
            self.chat_line("you", text)

    def status(self, text):
        set_text("w-status", text)

    def fail(self, message):
        set_text("w-error", message)
        show("w-error", bool(message))
