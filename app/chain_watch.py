"""The questions every side of a channel asks the chain, turned into the core's events, and
publishing until the chain has a transaction. Shared by the pages, the paywall and its client.

Each round makes its requests and returns the core's actions; a chain API that does not
answer changes nothing (the next round asks again).
"""

import asyncio

from app.channel import states
from app.esplora import ChainApiError, TxRefused

REFUSED_RETRY_S = 60  # a refused closing transaction is tried again this often (it may be a parent not yet seen)


async def confirmations(api, txid, tip=None):
    """How deep `txid` is (0: in the mempool), or None when the chain does not know it."""
    status = await api.tx_status(txid)
    if status is None:
        return None
    if not status.confirmed:
        return 0
    tip = await api.tip_height() if tip is None else tip
    return max(1, tip - status.block_height + 1)


async def input_values(api, outpoints):
    """The chain's value of each (txid, vout), None for a coin it does not know."""
    values = []
    for txid, vout in outpoints:
        outputs = await api.tx_outputs(txid)
        values.append(outputs[vout][1] if outputs is not None and vout < len(outputs) else None)
    return values


def broadcaster_round_due(b, checked_at, now) -> bool:
    """T1 unconfirmed: every pay_interval_s (v2 §B); a closing channel every 10 s; open, 30 s."""
    watch = b.watch
    if watch.funding_txid:
        every = b.offer.terms.pay_interval_s
    elif watch.outpoint:
        every = 30 if b.state == states.OPEN else 10
    else:
        return False
    return now - checked_at >= every


async def broadcaster_round(api, b, now):
    """What `b.watch` asks: T1's depth (or who spent its inputs), then who spends the channel."""
    actions = await _funding(api, b, b.watch, now) if b.watch.funding_txid else []
    watch = b.watch  # what the funding's answers left to ask
    if watch.outpoint and b.state != states.CLOSED:
        spender = await api.outspend(*watch.outpoint)
        if spender:
            actions += b.funding_spent(spender, now)
            depth = await confirmations(api, spender)
            if depth is not None:
                actions += b.tx_confirmations(spender, depth, now)
        elif b.state == states.SETTLING:
            actions += b.spend_vanished(now)
    return actions


async def _funding(api, b, watch, now):
    depth = await confirmations(api, watch.funding_txid)
    if depth:
        return b.tx_confirmations(watch.funding_txid, depth, now)
    parent_gone = False
    for txid, vout in watch.funding_inputs:  # unconfirmed or unknown: is it being replaced?
        spender = await api.outspend(txid, vout)
        if spender and spender != watch.funding_txid:  # a conflict: it decides, wherever it is
            actions = b.funding_gone(now, spender)
            buried = await confirmations(api, spender)
            return actions + (b.tx_confirmations(spender, buried, now) if buried is not None else [])
        parent_gone = parent_gone or (depth is None and await api.tx_status(txid) is None)
    if parent_gone:
        return b.funding_gone(now)  # a payment T1 spends is gone too (replaced, or evicted)
    if depth is None:
        return b.funding_missing(now)
    return b.tx_confirmations(watch.funding_txid, 0, now)  # in the mempool (again, for a lost one)


async def viewer_round(api, v, now):
    """Who spends the channel output, and how deep; a spend gone brings back the refund duties."""
    funding = v.channel.funding
    spender = await api.outspend(funding.txid, funding.vout)
    if not spender:
        return v.spend_vanished(now) if v.state == states.SETTLING else []
    actions = v.funding_spent(spender, now)
    depth = await confirmations(api, spender)
    if depth is not None:
        actions += v.spend_confirmations(spender, depth, now)
    return actions


async def quietly(coroutine, default=()):
    """`coroutine`'s result, or `default` while the chain API does not answer."""
    try:
        return await coroutine
    except ChainApiError:
        return list(default)


async def broadcast_until_known(api, tx_hex, txid, not_before=None, on_wait=None, give_up=None):
    """Publish `tx_hex`; retry until the chain has it. With `not_before` (a time-locked
    refund), first wait until the chain's median time past is past it: Core requires
    nLockTime < MTP, strictly. A refusal is never taken for success: it is shown through
    `on_wait` with the node's reason and tried again. Returns the txid, or None when
    `give_up()` says to stop."""
    delay = 2
    while give_up is None or not give_up():
        pause = delay
        try:
            if not_before is not None and await api.tip_median_time() <= not_before:
                if on_wait:
                    on_wait("waiting for the chain to pass the refund time")
            else:
                return await api.broadcast(tx_hex, txid)
        except TxRefused as refusal:
            if on_wait:
                on_wait(refusal_words(refusal))
            if not refusal.premature:
                pause = REFUSED_RETRY_S
        except ChainApiError as error:
            if on_wait:
                on_wait(str(error))
        await asyncio.sleep(pause)
        delay = min(delay * 2, 15)
    return None


FEE_REFUSALS = ("min relay fee not met", "mempool min fee not met", "insufficient fee")
CONFLICT_REFUSALS = ("bad-txns-inputs-missingorspent", "txn-mempool-conflict", "bad-txns-spends-conflicting-tx")


def refusal_words(refusal):
    """A node's refusal, by kind, for the user: too early, fee too low, a conflict, or other."""
    if refusal.premature:
        return "waiting for the chain to pass the lock time"
    if refusal.reason in FEE_REFUSALS:
        return f"the network asks a higher fee than this transaction pays ({refusal.message}); trying again"
    if refusal.reason in CONFLICT_REFUSALS:
        return (f"its coins are spent by another transaction or not seen yet ({refusal.message}); "
                "watching what spends them, trying again")
    return f"{refusal}; trying again"
