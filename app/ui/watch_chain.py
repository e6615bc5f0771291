"""The viewer's chain work, beside its one-second clock: the funding address, the channel's
spend and its depth, the median time past for the refund, publishing, and the way home for
coins the channel does not hold. Each call makes its requests and hands the core's actions
to `page.run`."""

import asyncio

from app.amounts import sats
from app.channel import states
from app.channel import transactions as txs
from app.esplora import ChainApiError
from app import chain_watch
from app.ui import chain, watch_view as view
from app.ui.dom import by_id

FUNDING_POLL_S = 2  # how often the funding address is checked, unless told to check now


async def poll_funding(page, address, amount):
    """Check the address every FUNDING_POLL_S, or at once when `page.check_funding` is set."""
    v = page.v
    while v.state == states.FUNDING and not v.utxos and not page.done and not page.is_stuck \
            and v.funding_amount(v.capacity) == amount:  # (a deposit changed since has a poll of its own)
        try:
            utxos = await page.api.address_utxos(address)
            total = sum(u.value for u in utxos)
            if total >= amount:
                view.funding_status("Payment received. Setting up the channel with the broadcaster…")
                coins = [{"txid": u.txid, "vout": u.vout, "value": u.value} for u in utxos]
                try:
                    page.run(v.funded(coins, chain.now()))
                except ValueError as e:
                    page.stuck(str(e))
                return
            if total:
                view.funding_status(f"Received {sats(total)} of {sats(amount)}: waiting for the rest…")
        except ChainApiError as e:
            view.funding_status(f"The chain service is not answering ({e}); still trying…")
        try:
            await asyncio.wait_for(page.check_funding.wait(), FUNDING_POLL_S)
        except asyncio.TimeoutError:
            pass
        page.check_funding.clear()


async def faucet(page, address, amount):
    """Devnet only: the faucet pays the funding address (an outside wallet would, elsewhere)."""
    status, body = await chain.post_json(page.config.esplora + "/devnet/faucet",
                                         {"address": address, "amount_sat": amount})
    if status == 200 and isinstance(body, dict):
        view.funding_status(f"Faucet sent {str(body.get('txid'))[:16]}…; waiting for it to arrive.")
        page.check_funding.set()
        return True
    view.fail(f"The devnet faucet refused: {str(body)[:200]}")
    return False


async def spend(page):
    """Has the channel output been spent (T3, T3(0) or T2), and how deep is that spend?"""
    v = page.v
    if v.channel and v.funding_tx and states.watches_chain(v.state):
        try:
            page.run(await chain_watch.viewer_round(page.api, v, chain.now()))
        except ChainApiError as failure:
            view.status(f"The chain service is not answering ({failure}); still trying…")


async def median_time(page):
    """The tip's median time past decides when the refund T2 is final (nLockTime < MTP)."""
    try:
        page.mtp = await page.api.tip_median_time()
    except ChainApiError:
        pass
    refund_panel(page)


def refund_panel(page):
    v = page.v
    lost = page.conn is None or page.conn.closed
    ready = page.mtp is not None and page.mtp > v.channel.lock_time  # Core: final once nLockTime < MTP
    if not (lost or ready) or page.claiming or not states.is_live(v.state):
        return
    if ready and page.auto_claim:
        asyncio.ensure_future(claim_refund(page))
        return
    view.refund_panel(ready, v.channel.lock_time - max(chain.now(), page.mtp or 0))


async def claim_refund(page):
    page.claiming = True
    by_id("w-refund-claim").disabled = True
    try:
        mtp = await page.api.tip_median_time()
    except ChainApiError as failure:
        page.claiming = False
        by_id("w-refund-claim").disabled = False
        view.status(f"The chain service did not answer ({failure}); try the refund again in a moment.")
        return
    view.status("Claiming your refund…")
    page.run(page.v.tick(max(chain.now(), mtp)))


def is_channel_tx(v, txid):
    """T1, T2 or T3(0): the channel's own transactions (anything else the viewer publishes is a sweep)."""
    own = {txs.txid(txs.parse_tx(tx, "")) for tx in (v.funding_tx, v.refund_tx, v.release_tx) if tx}
    return txid in own


async def publish(page, action):
    """Publish until the chain has it. T1, T2 and T3(0) are given up once something else spent the
    channel, or T1 was replaced; a sweep is given up only by a page that another tab took over."""
    v = page.v
    channel = is_channel_tx(v, action.txid)

    def give_up():
        if page.stale:
            return True
        over = v.state in (states.SETTLING, states.CLOSED) and action.txid != v.closing_txid
        return channel and (over or v.end_reason == "funding_gone")

    txid = await chain_watch.broadcast_until_known(
        page.api, action.tx, action.txid, action.not_before,
        on_wait=lambda why: view.status(f"Publishing {action.txid[:10]}…: {why}"), give_up=give_up)
    if txid and v.channel and txid != v.channel.funding.txid:
        view.status("Transaction published: waiting for the chain to show the channel spent…")
        await spend(page)


async def recoverable(page):
    """Coins at the funding address the channel does not hold: shown with the fee of sending them home."""
    v = page.v
    closed = states.may_forget(v.state)
    if not v.change_address:  # nothing was ever asked for
        view.recovery(0, 0, None, closed)
        return []
    try:
        coins = v.sweepable(await page.api.address_utxos(v.funding_address))
    except ChainApiError:
        return []
    total = sum(c.value for c in coins)
    try:
        fee = v.sweep_fee(coins, v.change_address) if coins else 0
    except ValueError:
        coins, total, fee = [], 0, 0  # dust: worth less than its fee
    view.recovery(total, fee, v.change_address, closed)
    return coins


async def sweep_home(page):
    """"Recover my coins": sign the sweep to the refund address and publish it."""
    coins = await recoverable(page)
    if not coins:
        view.fail("There is nothing at the funding address to send home (the chain shows no coins there).")
        return
    try:
        actions = page.v.sweep(coins, page.v.change_address, chain.now())
    except ValueError as e:
        view.fail(str(e))
        return
    if page.v.state == states.FUNDING:
        actions = page.v.close(chain.now()) + actions  # the channel will not be funded from these coins
    view.status("Sending your coins home…")
    page.run(actions)
