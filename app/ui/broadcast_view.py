"""What the broadcaster's screen shows: DOM writing only, from the core's properties."""

import js

from app import receipts
from app.amounts import btc, duration, rate_summary, sats
from app.channel import states
from app.qr import qr_data_uri
from app.ui import media, receipt_view, tabs
from app.ui.dom import by_id, set_text, show, tx_link

_closings_seen = set()


STATE_WORDS = {  # a viewer's channel as the broadcaster reads it
    states.OFFERED: "Looking at the offer", states.REFUND_SIGNED: "Funding", states.OPEN: "Watching and paying",
    states.CLOSING: "Settling…", states.SETTLING: "Settled, confirming", states.CLOSED: "Settled, confirmed",
}


def fail(message):
    set_text("bc-error", message)
    show("bc-error", bool(message))


def log(text):
    set_text("bc-end-status", text)


def chain_status(text):
    """Before going live the chain API's waits show under the form, afterwards in the live log."""
    set_text("bc-chain-status", text)
    show("bc-chain-status", bool(text))


def live(terms, url, identity_pub, stream, relay_url=None):
    anchor = by_id("share-link")
    anchor.href = url
    anchor.textContent = url
    by_id("bc-qr").src = qr_data_uri(url)
    set_text("bc-fingerprint", receipts.fingerprint(identity_pub))
    set_text("bc-live-name", terms.name)
    set_text("bc-live-payout", terms.payout_address)
    set_text("bc-terms", f"{rate_summary(terms.rate_sat_per_min)} · minimum deposit "
             f"{sats(terms.min_deposit_sat)} · lock {duration(terms.refund_lock_s)}")
    set_text("bc-media-mode", f"Video: one stream to the relay at {relay_url}, copied to each paying viewer"
             if relay_url else "Video: from this browser to each paying viewer")
    if stream is not None:
        media.preview("bc-preview", stream)
    show("bc-form", False)
    show("bc-resume-note", False)
    show("bc-stage")
    show("bc-live")


def needs_source(source):
    """After a reload the camera comes back by itself; a screen or a file needs the user again."""
    set_text("bc-source-again-text", f"The broadcast resumed after a reload: viewers can reconnect, but your "
             f"{'screen' if source == 'screen' else 'video file'} must be chosen again before they see anything.")
    show("bc-source-again", True)


def viewers(channels, now):
    earned = sum(ch.b.earned for ch in channels)
    set_text("bc-earned", earned)
    set_text("bc-earned-text", f"{sats(earned)} ({btc(earned)})")
    body = by_id("bc-viewers")
    rows = [ch for ch in channels if ch.b.state != states.OFFERED or (ch.conn and ch.conn.open)]
    while body.rows.length > len(rows):
        body.deleteRow(-1)
    while body.rows.length < len(rows):
        row = body.insertRow(-1)
        row.setAttribute("data-testid", "viewer-row")
        for label in ("Viewer", "Deposit", "Paid", "Watched", "State"):
            row.insertCell(-1).setAttribute("data-label", label)
    for row, ch in zip(body.rows, rows):
        b = ch.b
        deposit = b.channel.value if b.channel else None
        if b.funding_lost:
            state = "Funding gone: " + ("nothing was earned" if b.state == states.CLOSED
                                        else "watching in case it comes back")
        else:
            state = STATE_WORDS.get(b.state, b.state) + (" (paused: funding unconfirmed)" if b.held else "")
        cells = (ch.label, sats(deposit) if deposit else "–", sats(b.amount), duration(b.served_s(now)), state)
        for cell, text in zip(row.cells, cells):
            if cell.textContent != text:
                cell.textContent = text
    show("bc-no-viewers", not rows)


def closing(ch, txid, explorer):
    """A closed channel in the list (True), unless it is there already."""
    if txid in _closings_seen:
        return False
    _closings_seen.add(txid)
    item = js.document.createElement("li")
    item.append(js.document.createTextNode(f"viewer {ch.label}: {sats(ch.b.earned)} · "))
    item.append(tx_link(f"{explorer}/tx/{txid}", txid, "closing-txid"))
    details = js.document.createElement("details")
    summary = js.document.createElement("summary")
    summary.id = f"bc-receipt-status-{txid}"
    summary.textContent = "Receipt"
    box = js.document.createElement("div")
    box.id = f"bc-receipt-{txid}"
    box.className = "receipt"
    box.setAttribute("data-testid", "receipt")
    details.append(summary)
    details.append(box)
    item.append(details)
    by_id("bc-closings").append(item)
    show("bc-closings-box")
    return True


def receipt(listed, r):
    """A closed channel's receipt, and its state in the summary line of its entry."""
    set_text(f"bc-receipt-status-{listed}", f"Receipt · {receipts.status(r)}")
    receipt_view.show_receipt(f"bc-receipt-{listed}", r)


def chat_line(sender, text):
    item = js.document.createElement("li")
    strong = js.document.createElement("strong")
    strong.textContent = sender + ": "
    item.append(strong)
    item.append(js.document.createTextNode(text))
    chat = by_id("bc-chat-log")
    chat.append(item)
    chat.scrollTop = chat.scrollHeight


def ask_to_end(channels, earned):
    set_text("bc-end-question", "End the broadcast? The stream stops for everyone" + (
        f", and {channels} viewer channel(s) close now, paying you {sats(earned)}." if channels else "."))
    show("bc-end-confirm")
    by_id("bc-end-no").focus()


def ended(earned):
    dot = by_id("bc-live-dot")
    dot.textContent = "ended"
    dot.classList.add("ended")
    show("bc-stage", False)
    show("bc-end", False)
    show("bc-chat-form", False)
    log(f"Broadcast ended. Earned {sats(earned)}, paid out by the closing transactions under “Closed channels”.")
    show("bc-next")
    by_id("bc-again").focus()  # the End button it replaces is gone: the keyboard goes to what comes next


def elsewhere(taken_over=False):
    tabs.show_elsewhere("bc", "broadcast", taken_over)
    show("bc-form", False)
