"""A paywall that lies, for the client's tests of a cheating server only: a front that passes
each request to the real paywall (streamium_paywall) and its answer back as they are, until
`cheat` makes it break the binding in one chosen way. Everything it does not lie about is the
real paywall's work; honest tests talk to the paywall itself."""

import json

from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from app.channel import message
from app.channel.signatures import private_key
from app.paid_http import CHANNELS_PATH, PAYMENT_HEADER, RECEIPT_HEADER, Receipt
from streamium_paywall.proxy import HOP_BY_HOP
from streamium_paywall.service import GATE

PASSED_OVER = HOP_BY_HOP - {PAYMENT_HEADER.lower()}  # the front is not the paywall: the payment goes through


class LyingPaywall:
    def __init__(self, paywall, session):
        self.paywall, self.session = paywall, session
        self.cheat = None  # "other_key", "other_body", "overcharge", "no_receipt", "refuse_open"
        self.origin = None  # where it is served

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def forward(self, request):
        body = await request.read()
        if self.cheat == "refuse_open" and request.path.startswith(CHANNELS_PATH + "/") \
                and json.loads(body)["type"] == "open":
            return web.json_response(message("error", code="bad_funding", message="no"), status=400)
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in PASSED_OVER)
        async with self.session.request(request.method, URL(self.paywall.url + request.raw_path, encoded=True),
                                        headers=headers, data=body or None, allow_redirects=False) as answer:
            data = await answer.read()
            back = CIMultiDict((k, v) for k, v in answer.headers.items() if k.lower() not in PASSED_OVER)
        if RECEIPT_HEADER in back and self.cheat not in (None, "refuse_open"):
            data = self.lie(back, Receipt.parse(back[RECEIPT_HEADER]), data)
        return web.Response(status=answer.status, headers=back, body=data)

    def lie(self, headers, r: Receipt, body: bytes) -> bytes:
        """The answer's body, its receipt header changed as `cheat` says."""
        if self.cheat == "no_receipt":
            del headers[RECEIPT_HEADER]
        elif self.cheat == "other_body":
            return b"other " + body
        else:
            k2 = self.paywall.server.app[GATE].book.get(r.channel).b.key
            key, charged = (private_key(b"\x05" * 32), r.charged) if self.cheat == "other_key" else (k2, r.charged + 1)
            headers[RECEIPT_HEADER] = Receipt.make(key, r.channel, r.seq, r.status, charged, r.spent, r.signed,
                                                   body).header()
        return body
