"""What the viewer's screen shows: DOM writing only, from the core's properties.

Nothing here decides anything about the channel; `watch.py` drives it.
"""

import js

from app import receipts
from app.amounts import btc, duration, rate_summary, sats
from app.channel import states
from app.qr import bitcoin_uri, qr_data_uri
from app.ui import receipt_view, tabs
from app.ui.dom import by_id, focus_heading, set_text, show, tx_link

END_REASONS = {
    "stopped": "The broadcaster ended the stream.",
    "unpaid": "The broadcaster stopped the stream: payments stopped arriving.",
    "exhausted": "Your deposit is used up.",
    "expiring": "The channel reached its time limit and was settled.",
    "refund": "Your deposit came back through the time-locked refund.",
    "released": "The broadcaster released your deposit.",
    "abandoned": "You left before funding the channel.",
    "funding_gone": "Your funding transaction was replaced on the chain: the channel never held your money.",
}


STATE_WORDS = {  # the channel's state as the viewer reads it
    states.JOINING: "Connecting to the broadcaster", states.FUNDING: "Waiting for your payment",
    states.REFUND_SIGNED: "Payment seen: opening the channel", states.OPEN: "Paying as you watch",
    states.CLOSING: "Settling…", states.SETTLING: "Settled, confirming", states.CLOSED: "Settled, confirmed",
    states.EXPIRED: "The broadcaster did not settle: your deposit comes back by the refund",
}


def show_state(v):
    """In words; the state itself in data-state (for tests and for the curious)."""
    element = by_id("w-state")
    element.setAttribute("data-state", v.state)
    words = STATE_WORDS[v.state]
    if v.state == states.OPEN and v.held:
        words = "Paused until your payment confirms"
    elif v.state == states.JOINING and v.offer:
        words = "Offer received: nothing is paid yet"
    if element.textContent != words:
        element.textContent = words
    show("w-state-line")


def status(text):
    set_text("w-status", text)


def fail(message):
    set_text("w-error", message)
    show("w-error", bool(message))


def offer(v, config, own_address):
    """The terms, every fee, and what unconfirmed funding buys, before anything is funded."""
    msg, terms = v.offer_message, v.offer.terms
    set_text("w-name", msg["name"])
    set_text("w-rate", terms.rate_sat_per_min)
    set_text("w-rate-summary", rate_summary(terms.rate_sat_per_min))
    set_text("w-min-deposit", sats(terms.min_deposit_sat))
    set_text("w-fingerprint", receipts.fingerprint(v.link["identity_pubkey"]))
    set_text("w-lock", duration(terms.refund_lock_s))
    show("w-refund-label", not config.devnet)
    show("w-refund-devnet", config.devnet)
    if config.devnet:
        set_text("w-refund-own", own_address)
    confirmations = (f"It starts once your funding has {terms.confirmations} confirmation(s). "
                     if terms.confirmations else "")
    minimum, close_fee = terms.min_payment_sat, v.close_fee(own_address)
    funding_fee = v.funding_amount(terms.min_deposit_sat) - terms.min_deposit_sat
    set_text("w-minimum", f"You pay for the time you watch, at least the minimum charge of {sats(minimum)} "
             f"(≈ {duration(minimum * 60 // terms.rate_sat_per_min)} at this price). Time paid ahead comes back "
             f"when you stop. Network fees on top: funding {sats(funding_fee)}, closing {sats(close_fee)}; "
             f"the shortest session costs {sats(minimum + funding_fee + close_fee)} in all.")
    set_text("w-fees", f"The browser pays {duration(terms.prepay_s)} ahead, then every "
             f"{duration(terms.pay_interval_s)} for what you watched. If the broadcaster disappears, the refund "
             f"fee is {sats(v.refund_fee(own_address))} instead of the closing fee. Network fee rate "
             f"{terms.fee_rate_sat_vb} sat/vB. {confirmations}"
             f"Until your funding confirms, the broadcaster streams at most {duration(terms.unconfirmed_s)} "
             f"({sats(terms.max_unconfirmed_sat)}), then waits for the confirmation.")
    show("w-funding", False)
    show("w-offer")
    focus_heading("w-offer")


def rate_fiat(rate, price, currency):
    set_text("w-rate-summary", rate_summary(rate, price, currency))


def deposit_total(v, capacity_or_error):
    if isinstance(capacity_or_error, str):
        set_text("w-total", capacity_or_error)
        return
    terms = v.offer.terms
    watchable = max(0, capacity_or_error - v.close_fee()) * 60 // terms.rate_sat_per_min
    least = " (the broadcaster's minimum deposit)" if capacity_or_error == terms.min_deposit_sat else ""
    set_text("w-total", f"Deposit {sats(capacity_or_error)}{least}: up to {duration(watchable)} of video "
             "(the closing fee comes out of it). "
             f"You send {sats(v.funding_amount(capacity_or_error))} including the funding fee.")


def funding(address, amount, stream, devnet):
    set_text("funding-address", address)
    set_text("funding-amount", amount)
    set_text("w-funding-amount-text", f"{sats(amount)} ({btc(amount)})")
    set_text("w-funding-amount-btc", btc(amount).split()[0])  # what "Copy amount" gives a wallet
    uri = bitcoin_uri(address, amount, stream)
    by_id("w-bip21").href = uri
    by_id("w-qr").src = qr_data_uri(uri)
    show("w-faucet", devnet)
    show("w-funding")
    focus_heading("w-funding")


def funding_status(text):
    set_text("w-funding-status", text)


def ticker(v, now, connected):
    """The player and its numbers while the channel is open or closing."""
    show_state(v)
    if v.state == states.FUNDING and v.utxos:
        show("w-funding", False)
    if v.state not in (states.OPEN, states.CLOSING) or not v.channel:
        return
    show("w-funding", False)
    show("w-player")
    terms = v.offer.terms
    left = v.seconds_left(now)
    set_text("paid-total", v.amount)
    set_text("w-paid-text", sats(v.amount))
    set_text("w-balance", sats(max(0, v.channel.max_amount - min(v.amount, v.watched_sat))))  # not yet watched away
    set_text("w-time-left", duration(left))
    whole = v.channel.max_amount * 60 // terms.rate_sat_per_min
    show("w-low-funds", v.state == states.OPEN and left < max(3 * terms.pay_interval_s, min(60, whole // 4)))
    if v.state == states.OPEN and connected:
        status("Waiting for your funding transaction to confirm: the broadcaster paused the video until then."
               if v.held else f"Watching “{terms.name}”: paying {rate_summary(terms.rate_sat_per_min)}.")


def refund_panel(ready, wait_s):
    show("w-refund-box")
    by_id("w-refund-claim").disabled = not ready
    if ready:
        set_text("w-refund-text", "The lock time has passed: you can take your deposit back now.")
    else:
        set_text("w-refund-text", "If the broadcaster does not come back, you can claim your deposit back "
                 f"after the lock time, in about {duration(wait_s)}. Your refund is already signed and stored.")


def recovery(total, fee, address, closed):
    """What the chain shows at the funding address beside the channel: the way home for it, fee
    first. Watching again (a new channel on this page) is offered only once the channel is
    closed (buried) and the chain has answered that nothing is left behind."""
    show("w-recover-box", total > 0)
    show("w-again", closed and total == 0)
    if total > 0:
        set_text("w-recover-text", f"{sats(total)} are at your funding address and not in a channel. "
                 f"Send them home to {address}: the network fee is {sats(fee)}, you get {sats(total - fee)}.")


def result(v, explorer):
    for element in ("w-player", "w-offer", "w-funding", "w-refund-box"):
        show(element, False)
    reason = END_REASONS.get(v.end_reason or "", "You stopped watching.")
    buried = "" if v.state == states.CLOSED else " Waiting for the closing transaction to be buried in the chain…"
    set_text("w-result-text", reason + buried)
    box = by_id("w-closings")
    box.textContent = ""
    if v.closing_txid:
        item = js.document.createElement("li")
        item.append(js.document.createTextNode("Closing transaction: "))
        item.append(tx_link(f"{explorer}/tx/{v.closing_txid}", v.closing_txid, "closing-txid"))
        box.append(item)
    show("w-result")
    focus_heading("w-result")
    show("w-again", False)  # until the chain says nothing is left at the funding address (`recovery`)
    show_state(v)


def receipt(v, r):
    """The settled figures in one sentence, then the receipt itself."""
    reason = END_REASONS.get(v.end_reason or "", "You stopped watching.")
    if r["paid_sat"] is not None:
        set_text("w-result-text", f"{reason} You watched {duration(r['watched_s'])} and paid {sats(r['paid_sat'])}; "
                 f"network fees {sats(r['funding_fee_sat'] + r['closing_fee_sat'])}; {sats(r['returned_sat'])} "
                 f"returned to you. {receipts.status(r)}.")
    receipt_view.show_receipt("w-receipt", r)


def chat_line(sender, text):
    item = js.document.createElement("li")
    strong = js.document.createElement("strong")
    strong.textContent = f"{sender}: "
    item.append(strong)
    item.append(js.document.createTextNode(text))
    by_id("w-chat-log").append(item)


def elsewhere(taken_over=False):
    """Another tab of this browser has this share link open (or just took it over): nothing
    here may be pressed, so this tab can neither pay, recover nor start another channel."""
    tabs.show_elsewhere("w", "channel", taken_over)
    for element in ("w-offer", "w-funding", "w-player", "w-refund-box", "w-recover-box", "w-result"):
        show(element, False)
