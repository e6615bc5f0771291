"""The chain API (Esplora) for the page: `app.esplora.Esplora` over the browser's fetch,
plus small polling helpers. Every request goes to the configured API only."""

import asyncio
import json
import time

from pyscript import fetch
from pyscript.ffi import is_none

from app.esplora import ChainApiError, Esplora, TxRefused

REFUSED_RETRY_S = 60  # a refused closing transaction is tried again this often (it may be a parent not yet seen)
FETCH_TIMEOUT_S = 30  # a stalled connection counts as unreachable (and is retried) after this


async def _transport(method, url, body):
    options = {"method": method, "cache": "no-store"}
    if body is not None:
        options["body"] = body
    response = await asyncio.wait_for(fetch(url, **options), FETCH_TIMEOUT_S)
    # Retry-After is visible cross-origin only where the server exposes it (CORS); else None.
    retry_after = response.headers.get("retry-after")
    headers = {} if is_none(retry_after) else {"retry-after": str(retry_after)}
    return response.status, headers, await asyncio.wait_for(response.text(), FETCH_TIMEOUT_S)


def esplora(config, on_wait=None):
    """The page's chain API client; `on_wait(text)` shows the user why a request is waiting."""
    return Esplora(config.esplora, _transport, on_wait=on_wait)


def now():
    """Current time as integer UNIX seconds (the core's clock)."""
    return int(time.time())


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


async def post_json(url, payload):
    """POST JSON to our own server (devnet controls); returns (status, parsed-or-text)."""
    response = await fetch(url, method="POST", body=json.dumps(payload),
                           headers={"Content-Type": "application/json"})
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text
