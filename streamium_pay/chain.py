"""The wallet's refund duties: one round over every channel it still watches, turning the chain's
answers and the clock into the core's events, and publishing what the core asks (T2 once the
lock time has passed when a server vanished, a released T3(0), T1 before either)."""

import logging

from app.channel import Broadcast, Persist, states
from app.chain_watch import refusal_words, viewer_round
from app.esplora import ChainApiError, TxRefused

from .wallet import Wallet

log = logging.getLogger(__name__)


async def chain_round(wallet: Wallet, api, now: int) -> None:
    """Ask the chain about every channel once; a chain API that fails is logged, never raised."""
    for entry in list(wallet.channels.values()):
        v = entry.viewer
        if v.channel is None or not states.watches_chain(v.state):
            continue
        try:
            pending = {}  # txid -> Broadcast, each published once, after every record is stored
            for actions in (await viewer_round(api, v, now), v.tick(now), v.reload()):
                for action in actions:
                    if isinstance(action, Persist):
                        wallet.persist(entry, action.record)
                    elif isinstance(action, Broadcast):
                        pending.setdefault(action.txid, action)
            for broadcast in pending.values():
                await _publish_once(api, broadcast)
        except ChainApiError as e:
            log.warning("channel %s…: the chain API failed: %s", entry.channel_key[:16], e)


async def _publish_once(api, broadcast: Broadcast) -> None:
    """One try: the next round tries again (a time-locked T2 is not tried before its time)."""
    if broadcast.not_before is not None and await api.tip_median_time() <= broadcast.not_before:
        return
    try:
        await api.broadcast(broadcast.tx, broadcast.txid)
        log.info("published %s", broadcast.txid)
    except TxRefused as refusal:
        log.warning("%s: %s", broadcast.txid, refusal_words(refusal))
