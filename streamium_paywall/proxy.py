"""The reverse proxy's handler: the request as it came (method, target, headers, body) to the
upstream, and its whole answer back, byte for byte (compressed bodies stay compressed)."""

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from app.paid_http import PAYMENT_HEADER

# RFC 9110 §7.6.1 connection-specific fields, not forwarded; Host and the length are the proxy's own
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length", PAYMENT_HEADER.lower()}


def upstream_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(auto_decompress=False, connector=aiohttp.TCPConnector(limit=256),
                                 timeout=aiohttp.ClientTimeout(total=None))


def proxy_handler(upstream: str, session: aiohttp.ClientSession):
    base = str(URL(upstream)).rstrip("/")

    async def handle(request: web.Request) -> web.Response:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        body = await request.read()
        async with session.request(request.method, URL(base + request.raw_path, encoded=True), headers=headers,
                                   data=body or None, allow_redirects=False) as answer:
            data = await answer.read()
            back = CIMultiDict((k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP)
        return web.Response(status=answer.status, headers=back, body=data)
    return handle
