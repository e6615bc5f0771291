"""Opening a channel with a server (docs/http-payments.md §3): hello → offer, accept, the
wallet's payment of exactly the funding amount, open → refund_sig, commit → commit_ack.

Write-ahead throughout: K1 is in the wallet file before the wallet pays its address, and each
record the core returns is stored before the next message goes out. A run cut short is taken
up again by `resume` on the next use of that server.
"""

import asyncio
import os
from typing import Optional

from app.channel import Persist, ShowFunding, Viewer, build_link, funding_amount, message, new_secret, states
from app.esplora import TxRefused

from . import funding
from .closing import abandon
from .control import Control, channel_url
from .errors import BadAnswer, InsufficientFunds, PayError
from .quote import Quote
from .wallet import ChannelEntry

REQUESTS_PER_DEPOSIT = 200  # the default deposit pays this many requests at the quoted price
UNASKED_DEPOSIT_SAT = 100_000  # a server asking more locks that much only with an explicit --deposit
COMMIT_POLL_S = 5


def default_capacity(quote: Quote, close_fee: int, budget: Optional[int]) -> int:
    """Enough for REQUESTS_PER_DEPOSIT requests (no more than the budget can sign) and the close fee."""
    paid = REQUESTS_PER_DEPOSIT * quote.price_sat
    if budget is not None:
        paid = min(paid, budget)
    return max(quote.terms["min_deposit_sat"], paid + close_fee)


async def open_channel(ctl: Control, origin: str, quote: Quote, deposit: Optional[int],
                       budget: Optional[int]) -> ChannelEntry:
    """A new open channel with the server at `origin` that sent `quote`."""
    wallet = ctl.wallet
    wallet.check_identity(origin, quote.identity_pubkey)
    least = quote.terms["min_deposit_sat"]
    if deposit is None and least > UNASKED_DEPOSIT_SAT:
        raise PayError(f"{origin} asks a deposit of at least {least} sat (locked in the channel until it "
                       f"closes): pass --deposit {least} or more to accept it; nothing was paid")
    estimate = await ctl.api.fee_rate()
    planned = deposit or default_capacity(quote, quote.terms["close_fee_sat"], budget)
    rate = max(quote.terms["fee_rate_sat_vb"], estimate)
    await _check_funds(ctl, funding_amount(planned, quote.terms["fee_rate_sat_vb"]), rate)

    link = build_link(origin, quote.name, quote.identity_pubkey)
    v = Viewer.new(link, wallet.network, new_secret(os.urandom), metered=True)
    hello, = ctl.carry_out(None, v.connected(ctl.now())).sends
    await ctl.exchange(v, None, origin + quote.channels, hello)  # the offer, checked by the core
    if v.offer is None:
        raise BadAnswer(f"{origin} answered hello without an offer")
    terms = v.offer.terms
    capacity = deposit or default_capacity(quote, v.close_fee(wallet.address), budget)
    if capacity < terms.min_deposit_sat:
        raise PayError(f"the deposit must be at least {terms.min_deposit_sat} sat on this server")
    try:
        stored, show = v.accept(capacity, wallet.address, ctl.now(), max_fee_rate=max(2, 3 * estimate))
    except ValueError as e:
        raise PayError(f"refusing the offer of {origin}: {e}") from None
    assert isinstance(stored, Persist) and isinstance(show, ShowFunding)
    entry = wallet.add_channel(origin, quote.channels, stored.record, {quote.route: quote.price_sat})
    ctl.say(f"opening a channel with {origin}: deposit {capacity} sat (returned at the close, less what is paid)")
    try:
        coin = await funding.pay(ctl.api, wallet, show.address, show.amount,
                                 max(terms.fee_rate_sat_vb, estimate), ctl.spent_coins)
    except (InsufficientFunds, TxRefused):
        ctl.carry_out(entry, v.close(ctl.now()))  # abandoned: nothing was paid to K1
        raise
    await _propose(ctl, entry, [coin])
    return entry


async def resume(ctl: Control, entry: ChannelEntry) -> None:
    """Take up an open cut short: propose the coins at K1 again (none: abandon it), or commit
    again once T2 is stored. A server that refuses retires the channel; its coins are safe."""
    v = entry.viewer
    try:
        if v.state == states.FUNDING:
            coins = await ctl.api.address_utxos(v.funding_address)
            if not coins:
                await abandon(ctl, entry)
                return
            await _propose(ctl, entry, coins)
        elif v.state == states.REFUND_SIGNED:
            ctl.carry_out(entry, v.reload())  # T1 signed if the run died before storing it
            await _commit(ctl, entry, message("commit", funding_tx=v.funding_tx))
    except PayError as e:
        entry.retired = f"the open did not finish: {e}"
        ctl.wallet.save()
        ctl.say(f"channel {entry.channel_key[:16]}… with {entry.origin} is not usable: {e}")


async def _check_funds(ctl: Control, amount: int, fee_rate: int) -> None:
    """Refuse before any message when the wallet cannot pay `amount` (saying what to send where)."""
    coins = [c for c in await ctl.api.address_utxos(ctl.wallet.address) if (c.txid, c.vout) not in ctl.spent_coins]
    funding.payment(coins, ctl.wallet, ctl.wallet.address, amount, fee_rate)


async def _propose(ctl: Control, entry: ChannelEntry, coins) -> None:
    """`funded` → open → refund_sig → commit; a refused open sweeps the coins at K1 home."""
    v = entry.viewer
    opening, = ctl.carry_out(entry, v.funded(coins, ctl.now())).sends
    try:
        outcome = await ctl.exchange(v, entry, channel_url(entry), opening)
    except PayError:
        await abandon(ctl, entry)
        raise
    commit, = outcome.sends
    await _commit(ctl, entry, commit)


async def _commit(ctl: Control, entry: ChannelEntry, commit: dict) -> None:
    """Send `commit` until the server acknowledges T1 (it waits for `confirmations`)."""
    v, told = entry.viewer, False
    while True:
        outcome = await ctl.exchange(v, entry, channel_url(entry), commit)
        if outcome is not None:
            break
        if not told:
            ctl.say(f"waiting for the funding transaction {v.channel.funding.txid} to get "
                    f"{v.offer.terms.confirmations} confirmation(s) (Ctrl-C is safe: the next run goes on)")
            told = True
        await asyncio.sleep(COMMIT_POLL_S)
    if v.state != states.OPEN:
        raise PayError(f"the server acknowledged the funding but the channel is {v.state}")
