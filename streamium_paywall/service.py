"""A paywall on an aiohttp application: `setup(app, settings)` puts the middleware in front of
the app's own handlers (for people who own the API's code); `proxy(app, upstream)` adds the
reverse proxy's catch-all route (what paywall.py runs)."""

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from app.channel import Terms
from app.channel.addresses import address_script, dust
from app.esplora import ChainApiError
from streamium_server.esplora_client import esplora

from .book import ChannelBook, Options
from .gate import Paywall
from .prices import PriceList
from .proxy import proxy_handler, upstream_session
from .store import Store

GATE = web.AppKey("streamium_paywall", Paywall)


class SettingsError(Exception):
    """Settings the paywall cannot start with; printed as one line."""


@dataclass
class Settings:
    prices: PriceList
    payout_address: str
    network: str
    esplora: str
    db: str
    name: str = "API"
    fee_rate: Optional[int] = None  # sat/vB for every channel's T2/T3; None: the chain's estimate at start
    min_deposit_sat: int = 5000
    refund_lock_s: int = 86_400
    max_unconfirmed_sat: Optional[int] = None  # None: 100 requests at the highest price
    confirmations: int = 0
    upstream_timeout: float = 30.0
    metrics_path: str = "/metrics"  # '' for none: it is public, and hides the API's own path of that name
    chain_check_s: int = 10  # an unconfirmed funding is checked this often (the offer's pay_interval_s, v2 §B)
    channels: Options = field(default_factory=Options)

    def terms(self, fee_rate: int) -> Terms:
        """The offer's terms: a metered channel uses no time fields (docs/http-payments.md §1)."""
        try:
            payout = address_script(self.payout_address, self.network)
        except Exception as e:  # noqa: BLE001  (ProtocolError or ValueError: said as one line)
            raise SettingsError(f"--payout {self.payout_address}: {getattr(e, 'message', e)}")
        highest = self.prices.highest
        terms = Terms(name=self.name[:100], network=self.network, rate_sat_per_min=highest,
                      payout_address=self.payout_address, min_deposit_sat=self.min_deposit_sat,
                      min_payment_sat=dust(payout), fee_rate_sat_vb=fee_rate, refund_lock_s=self.refund_lock_s,
                      pay_interval_s=self.chain_check_s, prepay_s=0, grace_s=0,
                      max_unconfirmed_sat=self.max_unconfirmed_sat or max(dust(payout), 100 * highest),
                      confirmations=self.confirmations)
        try:
            return terms.check()
        except Exception as e:  # noqa: BLE001
            raise SettingsError(f"these terms cannot be offered: {getattr(e, 'message', e)}")


def setup(app: web.Application, settings: Settings) -> None:
    """Charge for `app`'s priced routes. The channels, the database and the chain client start
    with the app and stop with it; the chain is watched in the background meanwhile."""
    @web.middleware
    async def middleware(request, handler):
        return await app[GATE].middleware(request, handler)

    async def lifetime(app):
        session = aiohttp.ClientSession()
        api = esplora(settings.esplora, session)
        try:
            fee_rate = settings.fee_rate or max(1, await api.fee_rate(6))
        except ChainApiError as e:
            await session.close()
            raise SettingsError(f"the chain API {settings.esplora} did not answer: {e}")
        try:
            store = Store(settings.db)
        except sqlite3.Error as e:
            await session.close()
            raise SettingsError(f"cannot open the database {settings.db}: {e}")
        book = ChannelBook(store, settings.terms(fee_rate), api, settings.channels)
        book.load()
        app[GATE] = Paywall(book, settings.prices, settings.upstream_timeout, settings.metrics_path)
        watcher = asyncio.ensure_future(book.watch())
        yield
        watcher.cancel()
        for task in [watcher, *book.jobs]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await session.close()
        await store.close()

    app.middlewares.append(middleware)
    app.cleanup_ctx.append(lifetime)


def proxy(app: web.Application, upstream: str) -> None:
    """Forward every request (after the paywall) to `upstream`."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"--upstream {upstream!r} is not an http(s) URL")
    handler_key = web.AppKey("upstream_handler", object)

    async def lifetime(app):
        session = upstream_session()
        app[handler_key] = proxy_handler(upstream, session)
        yield
        await session.close()

    async def handle(request):
        return await request.app[handler_key](request)

    app.cleanup_ctx.append(lifetime)
    app.router.add_route("*", "/{tail:.*}", handle)
