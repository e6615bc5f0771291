"""Settling a channel now (docs/http-payments.md §3, v2 §F): the authenticated `close` with the
amount the receipts say was spent, answered by `closed` (the server's T3 is out) or `release`
(nothing was paid: T3(0), the viewer's to publish)."""

import json
from typing import Optional

from yarl import URL

from app.channel import canonical_json, states
from app.paid_http import PAYMENT_HEADER, Payment, request_key

from .control import Control, channel_url
from .errors import PayError
from .wallet import ChannelEntry


def closing_amount(entry: ChannelEntry) -> Optional[int]:
    """What to settle on: the spent total of the receipts, at least the minimum payment and at
    most what was signed; None when nothing was signed (a bare close)."""
    v = entry.viewer
    if not v.amount:
        return None
    return min(v.amount, max(v.offer.terms.min_payment_sat, entry.spent))


def closable(entry: ChannelEntry) -> bool:
    """The channel can be settled (or its offer dropped) from here now."""
    state = entry.viewer.state
    return state in (states.FUNDING, states.REFUND_SIGNED, states.OPEN) or \
        (state == states.CLOSING and entry.close_message is not None)


async def close(ctl: Control, entry: ChannelEntry) -> Optional[str]:
    """Settle `entry` now; the txid that settles it (None for a channel that never held coins)."""
    v, now = entry.viewer, ctl.now()
    entry.retired = entry.retired or "closed"
    if v.state in (states.JOINING, states.FUNDING):
        return await abandon(ctl, entry)
    sent_before = v.state == states.CLOSING
    if v.state in (states.REFUND_SIGNED, states.OPEN):
        request, = ctl.carry_out(entry, v.close(now, closing_amount(entry))).sends
        entry.close_message = request
        ctl.wallet.save()
    elif not closable(entry):
        ctl.wallet.save()
        raise PayError(f"the channel is {v.state}: nothing to close (`pay.py channels` shows it)")
    url = channel_url(entry)
    answer = await _send(ctl, entry, url)
    if sent_before and _refusal_code(answer) == "channel_closed":
        return v.closing_txid  # the close sent before was taken: the chain round follows its settlement
    again = _server_spent(entry, answer)
    if again is not None:  # requests charged that no receipt showed here yet: settle on the server's count
        request, = ctl.carry_out(entry, v.close(ctl.now(), again)).sends
        entry.close_message = request
        ctl.wallet.save()
        answer = await _send(ctl, entry, url)
    outcome = ctl.answered(v, entry, url, entry.close_message, answer)
    if outcome is None:
        raise PayError("the server did not settle the channel (it answered 202)")
    txid = outcome.closed and outcome.closed.txid
    for broadcast in outcome.broadcasts:  # a release: T1 if need be, then T3(0)
        txid = await ctl.publish(broadcast)
    return txid


async def _send(ctl: Control, entry: ChannelEntry, url: str):
    body = canonical_json(entry.close_message)
    return await ctl.post(url, body, {PAYMENT_HEADER: _authentication(ctl, entry, url, body)})


def _refusal_code(answer) -> Optional[str]:
    """The code of the protocol `error` a control call was answered with, if it was one."""
    try:
        message = json.loads(answer.body)
    except ValueError:
        return None
    return message.get("code") if isinstance(message, dict) and message.get("type") == "error" else None


def _server_spent(entry: ChannelEntry, answer) -> Optional[int]:
    """The amount to close for again when the server refused ours as short of what it charged
    (`close_not_exact`): its spent total, if at most what was signed (beyond, the server lies,
    and the close stands as sent). Settling on it risks no more than the signed credit did."""
    if answer.status != 409:
        return None
    try:
        details = json.loads(answer.body)["streamium"]
        spent = details["spent"]
    except (ValueError, KeyError, TypeError):
        return None
    v = entry.viewer
    if details.get("reason") != "close_not_exact" or type(spent) is not int or not entry.spent < spent <= v.amount:
        return None
    entry.spent = spent
    return max(v.offer.terms.min_payment_sat, spent)


def _authentication(ctl: Control, entry: ChannelEntry, url: str, body: bytes) -> str:
    """The Streamium-Payment header that proves K1 sends this `close` (§3): the current voucher,
    or K1's signature of T3(0) when nothing was paid (it gives the server nothing)."""
    v = entry.viewer
    voucher = v.pay_sig if v.amount else v.channel.sign(v.key, v.channel.payment_tx(0))
    payment = Payment.make(request_key(v.key.secret, entry.channel_key), entry.channel_key,
                           ctl.wallet.next_seq(entry), v.amount, voucher,
                           "POST", URL(url, encoded=True).raw_path_qs, body)
    return payment.header()


async def abandon(ctl: Control, entry: ChannelEntry) -> Optional[str]:
    """A channel whose open did not get as far as T2: sweep any coins at K1 home (the server
    holds no signature of ours to spend them), then forget the offer. The sweep's txid, if any."""
    v = entry.viewer
    coins = v.sweepable(await ctl.api.address_utxos(v.funding_address)) if v.state == states.FUNDING else []
    txid = None
    if coins:
        sweep, = ctl.carry_out(entry, v.sweep(coins, ctl.wallet.address, ctl.now())).broadcasts
        txid = await ctl.publish(sweep)
    ctl.carry_out(entry, v.close(ctl.now()))
    return txid
