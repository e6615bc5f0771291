"""On mainnet the page says, before anything else, that real bitcoin moves; beside sats it shows
their worth in USD from the chain service's own prices, where the service has good ones."""

import json
import os
from urllib.parse import urlsplit

import pytest
from embit import script
from embit.ec import PrivateKey
from embit.networks import NETWORKS

from tests.browser.e2e_support import at_the_offer, go_live, open_app, other_server, share_link

CHAIN_API = "https://mempool.space/api"  # serve.py's chain service on mainnet
# GET /api/v1/prices as mempool.space answers it
PRICES = json.dumps({"time": 1733000000, "USD": 97012, "EUR": 91000, "GBP": 76500, "CAD": 136200,
                     "CHF": 85600, "AUD": 150100, "JPY": 14560000})
HOSTILE_PRICES = {
    "negative": '{"time": 1733000000, "USD": -97012, "EUR": 91000}',
    "a string": '{"time": 1733000000, "USD": "NaN", "EUR": 91000}',
    "NaN": '{"time": 1733000000, "USD": NaN, "EUR": 91000}',
    "huge": '{"time": 1733000000, "USD": 1e300, "EUR": 91000}',
    "no USD": '{"time": 1733000000, "EUR": 91000, "GBP": 76500}',
    "not JSON": "<html><body>Too many requests</body></html>",
}
WITHOUT_FIAT = "100 sats/min · 6,000 sats/hour · 0.00006000 BTC/hour"  # the form's own price of 100


class MempoolSpace:
    """The chain service of a mainnet page, answered in its browser: `prices` for /v1/prices, a
    fee estimate and a tip height; every path asked is kept in `asked`."""

    def __init__(self, prices):
        self.answers = {"/v1/prices": prices, "/fee-estimates": '{"6": 2.0}', "/blocks/tip/height": "875000"}
        self.asked = []

    def answer(self, route):
        path = urlsplit(route.request.url).path.removeprefix("/api")
        self.asked.append(path)
        body = self.answers.get(path)
        route.fulfill(status=404 if body is None else 200, body=body or "Not found",
                      headers={"Access-Control-Allow-Origin": "*"})


@pytest.fixture(scope="module")
def mainnet_server(tmp_path_factory, live_server):
    """serve.py on mainnet; its signalling is the devnet server's, so that a broadcaster can go live."""
    with other_server(tmp_path_factory.mktemp("mainnet"), "--network", "mainnet", "--allow-mainnet",
                      "--peer-port", str(live_server.port), "--peer-path", "/peerjs") as server:
        yield server


@pytest.fixture
def mainnet_app(browser, mainnet_server):
    """Opens the mainnet app at a fragment, in a browser context of its own whose chain service is
    the given MempoolSpace; each page keeps its errors in `errors`."""
    contexts = []

    def open_page(service, fragment="#/"):
        context = browser.new_context()
        contexts.append(context)
        context.route(CHAIN_API + "/**", service.answer)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.goto(mainnet_server.url + "/" + fragment)
        page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def mainnet_address():
    return script.p2wpkh(PrivateKey(os.urandom(32)).get_public_key()).address(NETWORKS["main"])


def test_mainnet_shows_a_loud_warning(page, mainnet_server):
    open_app(page, mainnet_server)
    assert page.is_visible("#mainnet-warning")
    assert "real bitcoin" in page.text_content("#mainnet-warning")
    assert page.text_content("#network-badge").strip() == "mainnet"


def test_regtest_shows_no_mainnet_warning(app_page):
    assert app_page.is_hidden("#mainnet-warning")


def test_mainnet_shows_the_price_in_usd_from_the_chain_services_prices(mainnet_app):
    service = MempoolSpace(PRICES)
    broadcaster = mainnet_app(service, "#/broadcast")
    broadcaster.fill("[data-testid=bc-rate]", "1234")
    # 1,234 sats/min × 60 = 74,040 sats/hour; × 97,012 USD per 100,000,000 sats = 71.8276848 USD
    priced = "1,234 sats/min · 74,040 sats/hour · 0.00074040 BTC/hour · ≈ 71.83 USD/hour"
    broadcaster.wait_for_function("(text) => document.getElementById('bc-rate-summary').textContent === text",
                                  arg=priced, timeout=30_000)

    go_live(broadcaster, "Priced show", mainnet_address(), rate=1234, terms={})
    viewer = mainnet_app(service)
    viewer.goto(share_link(broadcaster))
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    viewer.wait_for_function("(text) => document.getElementById('w-rate-summary').textContent === text",
                             arg=priced, timeout=30_000)
    assert service.asked.count("/v1/prices") == 2  # once by each page
    assert broadcaster.errors == [] and viewer.errors == []


@pytest.mark.parametrize("answer", HOSTILE_PRICES.values(), ids=HOSTILE_PRICES.keys())
def test_a_hostile_prices_answer_shows_no_fiat_and_no_error(mainnet_app, answer):
    service = MempoolSpace(answer)
    broadcaster = mainnet_app(service)
    with broadcaster.expect_request_finished(lambda request: request.url == CHAIN_API + "/v1/prices"):
        broadcaster.click("[data-testid=home-broadcast]")
    broadcaster.wait_for_timeout(2_000)  # time to read the answer: a good one shows well within it (above)
    assert broadcaster.text_content("#bc-rate-summary") == WITHOUT_FIAT
    assert broadcaster.is_hidden("#bc-error")
    assert broadcaster.errors == []


def test_the_devnet_shows_no_fiat_and_asks_no_prices(apps, request_log):
    broadcaster, viewer = at_the_offer(apps, "Devnet prices")
    assert "USD" not in broadcaster.text_content("#bc-rate-summary")
    assert viewer.text_content("#w-rate-summary") == "1,200 sats/min · 72,000 sats/hour · 0.00072000 BTC/hour"
    assert not [url for url in request_log.urls if "/v1/prices" in url]
