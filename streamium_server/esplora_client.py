"""`app.esplora.Esplora` over aiohttp, for the Python programs beside the page (paywall.py,
pay.py, the benchmarks): the same client, the same checks, another transport."""

import aiohttp

from app.esplora import Esplora

TIMEOUT_S = 30  # a stalled connection counts as unreachable (and is retried) after this


def esplora(base_url: str, session: aiohttp.ClientSession, on_wait=None) -> Esplora:
    async def transport(method, url, body):
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with session.request(method, url, data=body, timeout=timeout) as response:
            return response.status, {"retry-after": response.headers.get("Retry-After")}, await response.text()
    return Esplora(base_url, transport, on_wait=on_wait)
