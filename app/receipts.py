"""Receipts of settled channels: what one side paid or was paid, and why the numbers add up.

Built from the channel's own record and from the transaction that spent the channel itself
(its bytes, which the caller checked against the txid), never from an explorer's summary, so
the figures are the chain's: for the viewer, sent = paid + funding fee + closing fee + returned.
Pure Python: the same receipt on the page, in its download and in the tests.
"""

import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

from app.amounts import duration, rate_summary, sats
from app.channel import transactions as txs
from app.channel.errors import BAD_FUNDING

VERSION = 1


def fingerprint(pubkey_hex: str) -> str:
    """An identity key as people compare it: 20 hex digits after the 02/03, in groups of four."""
    return " ".join(pubkey_hex[i:i + 4] for i in range(2, 22, 4))


def when(timestamp: Optional[int]) -> Optional[str]:
    return timestamp and time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


@dataclass(frozen=True)
class Settled:
    """What the spend of a channel paid out: to the payout, back as change, to the miners."""

    paid: int
    returned: int
    fee: int


def settlement(tx, funding_txid: str, funding_vout: int, value: int, payout_script: bytes,
               change_script: bytes) -> Settled:
    """The figures of `tx` (a T3, the refund T2 or a release): refused unless it spends exactly
    the channel's funding output, whose `value` is what it can pay out."""
    if len(tx.vin) != 1 or (tx.vin[0].txid.hex(), tx.vin[0].vout) != (funding_txid, funding_vout):
        raise ValueError("this transaction does not spend the channel")
    out = sum(o.value for o in tx.vout)
    if out > value:
        raise ValueError("this transaction pays out more than the channel holds")
    paid = sum(o.value for o in tx.vout if o.script_pubkey.data == payout_script)
    returned = sum(o.value for o in tx.vout if o.script_pubkey.data == change_script)
    return Settled(paid, returned, value - out)


def _links(explorer: str, **txids) -> dict:
    return {f"{name}_url": txid and f"{explorer}/tx/{txid}" for name, txid in txids.items()}


def viewer_receipt(v, settled: Optional[Settled], closing_txid: Optional[str], confirmations: Optional[int],
                   buried: int, explorer: str) -> dict:
    """The viewer's receipt of channel `v` (a Viewer), `settled` by `closing_txid` (None: not seen yet).
    It starts at the first payment and ends when this viewer saw the channel settle: a spend of
    it on the chain (in a block or the mempool)."""
    terms, ch = v.offer.terms, v.channel
    t1 = txs.parse_tx(v.funding_tx, BAD_FUNDING)
    spent = {(i.txid.hex(), i.vout) for i in t1.vin}
    sent = sum(u.value for u in v.utxos if (u.txid, u.vout) in spent)
    funding_change = sum(o.value for i, o in enumerate(t1.vout) if i != ch.funding.vout)
    return {
        "receipt": "streamium", "version": VERSION, "role": "viewer", "network": v.network,
        "stream": terms.name, "broadcaster_fingerprint": fingerprint(v.link["identity_pubkey"]),
        "rate_sat_per_min": terms.rate_sat_per_min, "started_at": when(v.started_at),
        "last_payment_at": when(v.last_pay_at), "ended_at": when(v.ended_at), "watched_s": v.video_ms // 1000,
        "sent_sat": sent, "paid_sat": settled and settled.paid,
        "funding_fee_sat": sent - sum(o.value for o in t1.vout), "closing_fee_sat": settled and settled.fee,
        "returned_sat": settled and settled.returned + funding_change, "returned_to": v.change_address,
        "funding_txid": ch.funding.txid, "closing_txid": closing_txid, "confirmations": confirmations,
        "final": confirmations is not None and confirmations >= buried,
        **_links(explorer, funding=ch.funding.txid, closing=closing_txid),
    }


def broadcaster_receipt(b, label: str, identity_pubkey: str, confirmations: Optional[int], buried: int,
                        explorer: str, now: int) -> dict:
    """The broadcaster's receipt of one viewer's channel `b` (a Broadcaster). It starts at the first
    payment and ends when this broadcaster closed the channel (signed its settlement, or saw the
    funding spent elsewhere or gone); the time watched is the media served in between, or until
    `now` if it has not ended."""
    terms, ch = b.offer.terms, b.channel
    settled = None
    if b.closing_tx and not b.spent_by and not b.funding_lost:
        settled = settlement(txs.parse_tx(b.closing_tx, BAD_FUNDING), ch.funding.txid, ch.funding.vout, ch.value,
                             terms.payout_script, ch.change_script)
    txid = b.settled_by
    return {
        "receipt": "streamium", "version": VERSION, "role": "broadcaster", "network": terms.network,
        "stream": terms.name, "broadcaster_fingerprint": fingerprint(identity_pubkey), "viewer": label,
        "rate_sat_per_min": terms.rate_sat_per_min, "started_at": when(b.t0), "ended_at": when(b.ended_at),
        "watched_s": b.served_s(b.ended_at or now),
        "paid_sat": settled.paid if settled else 0, "closing_fee_sat": settled and settled.fee,
        "payout_address": terms.payout_address, "deposit_sat": ch.value,
        "funding_txid": ch.funding.txid, "closing_txid": txid, "confirmations": confirmations,
        "final": confirmations is not None and confirmations >= buried,
        **_links(explorer, funding=ch.funding.txid, closing=txid),
    }


def _sat(value: Optional[int]) -> str:
    return "waiting for the closing transaction" if value is None else sats(value)


def status(receipt: dict) -> str:
    if receipt["closing_txid"] is None or receipt["confirmations"] is None:
        return "Settling: the closing transaction is not on the chain yet"
    if receipt["confirmations"] == 0:
        return "Settling: the closing transaction waits in the mempool"
    done = "Settled, confirmed" if receipt["final"] else "Settled, confirming"
    return f"{done} ({receipt['confirmations']} confirmation{'s' if receipt['confirmations'] != 1 else ''})"


def rows(receipt: dict) -> List[Tuple[str, str, Optional[str]]]:
    """(label, text, link or None) of each line, in the order people read a receipt."""
    viewer = receipt["role"] == "viewer"
    lines = [("Stream", receipt["stream"], None), ("Broadcaster", receipt["broadcaster_fingerprint"], None)]
    if not viewer:
        lines.append(("Viewer", receipt["viewer"], None))
    lines += [("Price", rate_summary(receipt["rate_sat_per_min"]), None),
              ("Started", receipt["started_at"] or "–", None)]
    if viewer:
        lines.append(("Last payment", receipt["last_payment_at"] or "–", None))
    lines += [("Ended", receipt["ended_at"] or "–", None), ("Time watched", duration(receipt["watched_s"]), None)]
    if viewer:
        lines += [("You sent", sats(receipt["sent_sat"]), None), ("Paid to the broadcaster", _sat(receipt["paid_sat"]), None),
                  ("Funding fee (network)", sats(receipt["funding_fee_sat"]), None),
                  ("Closing fee (network)", _sat(receipt["closing_fee_sat"]), None),
                  ("Returned to you", _sat(receipt["returned_sat"]), None),
                  ("Returned to", receipt["returned_to"], None)]
    else:
        lines += [("Viewer's deposit", sats(receipt["deposit_sat"]), None), ("Paid to you", sats(receipt["paid_sat"]), None),
                  ("Closing fee (network, from the deposit)", _sat(receipt["closing_fee_sat"]), None),
                  ("Paid to", receipt["payout_address"], None)]
    lines += [("Funding transaction", receipt["funding_txid"], receipt["funding_url"]),
              ("Closing transaction", receipt["closing_txid"] or "–", receipt["closing_url"]),
              ("Status", status(receipt), None)]
    return lines
