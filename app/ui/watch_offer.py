"""From the broadcaster's offer to the funding address: the terms and fees shown, the deposit
chosen, the refund address, and (on a devnet) the faucet."""

import asyncio
import os

from app.channel import new_secret
from app.channel.addresses import script_address
from app.channel.script import p2wpkh
from app.channel.signatures import private_key
from app.esplora import ChainApiError
from app.ui import chain, storage, viewer_records, watch_chain, watch_view as view
from app.ui.dom import by_id, on


class OfferForm:
    def __init__(self, page):
        self.page = page
        self.max_fee_rate = None

    def bind(self):
        on(by_id("w-accept-form"), "submit", self.accept)
        on(by_id("w-minutes"), "input", lambda *_: self.deposit_from_minutes())
        on(by_id("w-deposit"), "input", lambda *_: self.show_total())
        for button in by_id("w-presets").querySelectorAll("button"):
            on(button, "click", self.preset)
        on(by_id("w-faucet"), "click", lambda *_: asyncio.ensure_future(self.faucet()))

    def show(self):
        page = self.page
        view.offer(page.v, page.config, self.own_address() if page.config.devnet else None)
        self.deposit_from_minutes()
        view.status("Choose how long you want to watch. Nothing is paid until you fund the channel.")
        asyncio.ensure_future(self.load_fee_limit())

    async def load_fee_limit(self):
        """Refuse an offer asking a fee rate far above the chain's own estimate."""
        try:
            self.max_fee_rate = max(2, 3 * await self.page.api.fee_rate())
        except ChainApiError:
            self.max_fee_rate = None

    def own_address(self):
        """Devnet: a fresh address of this browser's own, its key kept beside the channel's record."""
        key = self.page.key + ":refund-key"
        secret = storage.get(key)
        if secret is None:
            secret = new_secret(os.urandom).hex()
            storage.put(key, secret)
        return script_address(p2wpkh(private_key(bytes.fromhex(secret)).sec()), self.page.config.network)

    def preset(self, event):
        by_id("w-minutes").value = event.currentTarget.getAttribute("data-minutes")
        self.deposit_from_minutes()

    def deposit_from_minutes(self):
        terms = self.page.v.offer and self.page.v.offer.terms
        try:
            minutes = max(1, int(by_id("w-minutes").value))
        except ValueError:
            return
        if terms:
            by_id("w-deposit").value = str(max(terms.min_deposit_sat, terms.rate_sat_per_min * minutes))
            self.show_total()

    def deposit(self):
        raw, minimum = by_id("w-deposit").value.strip(), self.page.v.offer.terms.min_deposit_sat
        if not raw.isdigit() or not raw.isascii():
            raise ValueError("Enter a deposit in whole sats.")
        if int(raw) < minimum:
            raise ValueError(f"The deposit must be at least {minimum:,} sats.")
        return int(raw)

    def show_total(self):
        try:
            view.deposit_total(self.page.v, self.deposit())
        except ValueError as e:
            view.deposit_total(self.page.v, str(e))

    def accept(self, event):
        event.preventDefault()
        page = self.page
        if page.stale:  # another tab has this link: it alone moves the record pointer
            return
        view.fail("")
        try:
            change = self.own_address() if page.config.devnet else by_id("w-refund").value.strip()
            if not change:
                raise ValueError("Enter your refund address: change and refunds go there.")
            actions = page.v.accept(self.deposit(), change, chain.now(), max_fee_rate=self.max_fee_rate)
        except ValueError as e:
            view.fail(str(e))
            return
        by_id("w-offer").hidden = True
        viewer_records.point(page.share, page.v)
        page.run(actions)

    def show_funding(self, address, amount):
        view.funding(address, amount, self.page.share.stream, self.page.config.devnet)
        view.status("Waiting for your payment…")
        asyncio.ensure_future(watch_chain.poll_funding(self.page, address, amount))

    async def faucet(self):
        button = by_id("w-faucet")
        button.disabled = True
        button.setAttribute("aria-busy", "true")
        sent = await watch_chain.faucet(self.page, by_id("funding-address").textContent,
                                        int(by_id("funding-amount").textContent))
        button.removeAttribute("aria-busy")
        button.disabled = sent
