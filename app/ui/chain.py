"""The chain API (Esplora) for the page: `app.esplora.Esplora` over the browser's fetch,
plus small polling helpers. Every request goes to the configured API only."""

import asyncio
import json
import time

from pyscript import fetch
from pyscript.ffi import is_none

from app.esplora import Esplora

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


def esplora(config, on_wait=None, attempts=4):
    """The page's chain API client; `on_wait(text)` shows the user why a request is waiting."""
    return Esplora(config.esplora, _transport, on_wait=on_wait, attempts=attempts)


def now():
    """Current time as integer UNIX seconds (the core's clock)."""
    return int(time.time())


async def post_json(url, payload):
    """POST JSON to our own server (devnet controls); returns (status, parsed-or-text)."""
    response = await fetch(url, method="POST", body=json.dumps(payload),
                           headers={"Content-Type": "application/json"})
    text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text
