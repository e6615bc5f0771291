"""The questions both pages ask the chain about a channel, turned into the core's events.

Each function makes one round of requests and returns the core's actions; a chain API
that does not answer changes nothing (the next round asks again).
"""

from app.channel import states
from app.esplora import ChainApiError


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
