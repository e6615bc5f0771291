"""The chain API (Esplora) for the page: `app.esplora.Esplora` over the browser's fetch,
plus small polling helpers. Every request goes to the configured API only."""

import asyncio
import time

from pyscript import fetch

from app.esplora import ChainApiError, Esplora


async def _transport(method, url, body):
    options = {"method": method, "cache": "no-store"}
    if body is not None:
        options["body"] = body
    response = await fetch(url, **options)
    return response.status, await response.text()


def esplora(config):
    return Esplora(config.esplora, _transport)


def now():
    """Current time as integer UNIX seconds (the core's clock)."""
    return int(time.time())


async def broadcast_until_known(api, tx_hex, txid, not_before=None, on_wait=None, give_up=None):
    """Publish `tx_hex`; retry until the chain has it. With `not_before` (a time-locked
    refund), first wait for the chain's median time past to reach it. Returns the txid,
    or None when `give_up()` says to stop."""
    delay = 2
    while give_up is None or not give_up():
        try:
            if not_before is not None and await api.tip_median_time() < not_before:
                if on_wait:
                    on_wait("waiting for the chain to pass the refund time")
            else:
                return await api.broadcast(tx_hex, txid)
        except ChainApiError as error:
            if on_wait:
                on_wait(str(error))
        await asyncio.sleep(delay)
        delay = min(delay * 2, 15)
    return None


async def post_json(url, payload):
    """POST JSON to our own server (devnet controls); returns (status, parsed-or-text)."""
    import json
    response = await fetch(url, method="POST", body=json.dumps(payload),
                           headers={"Content-Type": "application/json"})
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


async def tx_known(api, txid):
    """True when the chain API knows `txid` (mempool or chain)."""
    return await api.tx_status(txid) is not None
