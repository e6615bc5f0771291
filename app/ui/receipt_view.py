"""A receipt on the page (app/receipts.py): its lines, kept in this browser, downloadable as
JSON and printable. The same view on both sides, in the box each page gives it."""

import json

import js

from app import receipts
from app.ui import storage
from app.ui.dom import by_id, on, show, tx_link

KEY = "receipt:"  # + role:funding txid -> the receipt, kept after the channel's record is gone


def keep(receipt: dict) -> None:
    storage.put(f"{KEY}{receipt['role']}:{receipt['funding_txid']}", receipt)


def table(receipt: dict):
    """The receipt's lines as a <table> (text only; links for the transactions)."""
    element = js.document.createElement("table")
    element.className = "receipt-lines"
    body = element.createTBody()
    for label, text, link in receipts.rows(receipt):
        row = body.insertRow(-1)
        head = js.document.createElement("th")
        head.scope = "row"
        head.textContent = label
        row.append(head)
        cell = row.insertCell(-1)
        if link:
            cell.append(tx_link(link, text))
        else:
            cell.textContent = text
    return element


def download_link(receipt: dict):
    anchor = js.document.createElement("a")
    anchor.href = "data:application/json;charset=utf-8," + js.encodeURIComponent(json.dumps(receipt, indent=1))
    anchor.setAttribute("download", f"streamium-receipt-{receipt['role']}-{receipt['funding_txid'][:12]}.json")
    anchor.setAttribute("role", "button")
    anchor.className = "secondary outline"
    anchor.textContent = "Download receipt (JSON)"
    anchor.setAttribute("data-testid", "receipt-download")
    return anchor


def show_receipt(box_id: str, receipt: dict) -> None:
    """Replace what `box_id` shows with this receipt, a download link and a print button."""
    box = by_id(box_id)
    box.textContent = ""
    box.append(table(receipt))
    actions = js.document.createElement("p")
    actions.className = "receipt-actions"
    actions.append(download_link(receipt))
    printer = js.document.createElement("button")
    printer.type, printer.className, printer.textContent = "button", "secondary outline", "Print"
    on(printer, "click", lambda *_: js.window.print())
    actions.append(printer)
    box.append(actions)
    show(box_id)
