"""The broadcaster's form refuses what cannot be offered, in plain words, before going live."""

import pytest

from tests.browser.e2e_support import regtest_address

pytestmark = pytest.mark.browser


@pytest.fixture
def form(app_page):
    app_page.click("[data-testid=home-broadcast]")
    app_page.wait_for_selector("#bc-form:visible")
    return app_page


def test_payout_address_of_another_network_is_refused(form):
    form.fill("[data-testid=bc-name]", "Wrong network")
    form.fill("[data-testid=bc-payout]", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")  # mainnet
    form.click("[data-testid=bc-start]")
    form.wait_for_selector("[data-testid=error]:visible")
    assert "not a valid regtest address" in form.text_content("#bc-error")
    assert form.is_hidden("[data-testid=share-link]")


def test_rate_summary_and_peer_id_update_live(form):
    form.fill("[data-testid=bc-name]", "Café Live! #1")
    form.fill("[data-testid=bc-rate]", "1500")
    assert form.text_content("#bc-rate-summary") == "1,500 sats/min · 90,000 sats/hour · 0.00090000 BTC/hour"
    assert form.text_content("#bc-name-id") == "Peer id: streamium-cafe-live-1"
    form.fill("[data-testid=bc-payout]", regtest_address())
    form.fill("[data-testid=bc-rate]", "0")
    form.click("[data-testid=bc-start]")  # the browser's own check stops the form
    assert form.evaluate("document.getElementById('bc-rate').validity.rangeUnderflow")
    assert form.is_hidden("[data-testid=share-link]")
