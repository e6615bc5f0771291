"""From the broadcaster's offer to the funding address: the terms and fees shown, the deposit
chosen, the refund address, and (on a devnet) the faucet."""

import asyncio

from app import address_check
from app.esplora import ChainApiError
from app.ui import chain, devnet_address, fiat, field_errors, viewer_records, watch_chain, watch_view as view
from app.ui.field_errors import FieldError
from app.ui.dom import by_id, on


class OfferForm:
    def __init__(self, page):
        self.page = page
        self.max_fee_rate = None

    def bind(self):
        on(by_id("w-accept-form"), "submit", self.accept)
        on(by_id("w-minutes"), "input", lambda *_: self.deposit_from_minutes())
        on(by_id("w-deposit"), "input", lambda *_: self.show_total())
        field_errors.clear_when_changed("w-deposit", "w-refund")
        for button in by_id("w-presets").querySelectorAll("button"):
            on(button, "click", self.preset)
        on(by_id("w-faucet"), "click", lambda *_: asyncio.ensure_future(self.faucet()))

    def show(self):
        page = self.page
        view.offer(page.v, page.config, self.own_address() if page.config.devnet else None)
        self.deposit_from_minutes()
        view.status("Choose how long you want to watch. Nothing is paid until you fund the channel.")
        asyncio.ensure_future(self.load_fee_limit())
        asyncio.ensure_future(self.show_fiat())

    async def show_fiat(self):
        price = await fiat.price(self.page.config)
        if price:
            view.rate_fiat(self.page.v.offer.terms.rate_sat_per_min, price, fiat.CURRENCY)

    async def load_fee_limit(self):
        """Refuse an offer asking a fee rate far above the chain's own estimate."""
        try:
            self.max_fee_rate = max(2, 3 * await self.page.api.fee_rate())
        except ChainApiError:
            self.max_fee_rate = None

    def own_address(self):
        """Devnet: a fresh address of this browser's own, its key kept beside the channel's record."""
        return devnet_address.own_address(self.page.key + ":refund-key", self.page.config.network)

    def preset(self, event):
        by_id("w-minutes").value = event.currentTarget.getAttribute("data-minutes")
        self.deposit_from_minutes()

    def deposit_from_minutes(self):
        terms = self.page.v.offer and self.page.v.offer.terms
        raw = by_id("w-minutes").value.strip()
        for button in by_id("w-presets").querySelectorAll("button"):
            button.setAttribute("aria-pressed", "true" if button.getAttribute("data-minutes") == raw else "false")
        if not raw.isdigit() or not raw.isascii() or int(raw) < 1:
            view.deposit_total(self.page.v, "Enter the minutes as a whole number, at least 1.")
            return
        if terms:
            by_id("w-deposit").value = str(max(terms.min_deposit_sat, terms.rate_sat_per_min * int(raw)))
            field_errors.clear("w-deposit")
            self.show_total()

    def deposit(self):
        raw, minimum = by_id("w-deposit").value.strip(), self.page.v.offer.terms.min_deposit_sat
        if not raw.isdigit() or not raw.isascii():
            raise FieldError("w-deposit", "Enter the deposit as a whole number of sats.")
        if int(raw) < minimum:
            raise FieldError("w-deposit", f"The deposit must be at least {minimum:,} sats.")
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
            capacity = self.deposit()
            change = self.own_address() if page.config.devnet else self.refund_address()
            actions = page.v.accept(capacity, change, chain.now(), max_fee_rate=self.max_fee_rate)
        except FieldError as wrong:
            field_errors.show_error(wrong)
            return
        except ValueError as e:
            view.fail(str(e))
            return
        by_id("w-offer").hidden = True
        viewer_records.point(page.share, page.v)
        page.run(actions)

    def refund_address(self):
        change = by_id("w-refund").value.strip()
        if not change:
            raise FieldError("w-refund", "Enter your refund address: change and refunds go there.")
        wrong = address_check.problem(change, self.page.config.network)
        if wrong:
            raise FieldError("w-refund", wrong)
        return change

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
