"""The broadcaster's form refuses what cannot be offered, at the field, in words that say what
to fix, before going live; on the devnet it can fill in a payout address of its own."""

import pytest

from tests.browser.e2e_support import regtest_address

pytestmark = pytest.mark.browser

MAINNET = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


@pytest.fixture
def form(app_page):
    app_page.click("[data-testid=home-broadcast]")
    app_page.wait_for_selector("#bc-form:visible")
    return app_page


SHOWN_ERROR = """(field) => { const note = document.getElementById(field + '-error');
    const input = document.getElementById(field);
    return note && !note.hidden && input.getAttribute('aria-invalid') === 'true'
        && input.getAttribute('aria-describedby').split(' ').includes(note.id) ? note.textContent : null; }"""


def field_error(page, field):
    """The error said under `field`, if it is shown."""
    return page.evaluate(SHOWN_ERROR, field)


def error_after_start(page, field):
    """The error `field` shows once Go live has checked the form (the check runs asynchronously)."""
    page.click("[data-testid=bc-start]")
    return page.wait_for_function(SHOWN_ERROR, arg=field).json_value()


@pytest.mark.parametrize("payout, says", [
    (MAINNET, "This is a mainnet address; this stream is on regtest (devnet)."),
    (regtest_address()[:-1] + "x", "checksum does not match"),
    ("hello", "This is not a bitcoin address"),
])
def test_a_wrong_payout_address_is_explained_at_the_field_and_cleared_when_fixed(form, payout, says):
    form.fill("[data-testid=bc-name]", "Wrong address")
    form.fill("[data-testid=bc-payout]", payout)
    assert says in error_after_start(form, "bc-payout")
    assert form.evaluate("document.activeElement.id") == "bc-payout"
    assert form.is_hidden("[data-testid=share-link]")
    form.fill("[data-testid=bc-payout]", regtest_address())
    assert field_error(form, "bc-payout") is None


def test_a_price_that_is_not_a_whole_number_of_sats_says_so(form):
    form.fill("[data-testid=bc-name]", "Café Live! #1")
    form.fill("[data-testid=bc-rate]", "1500")
    assert form.text_content("#bc-rate-summary") == "1,500 sats/min · 90,000 sats/hour · 0.00090000 BTC/hour"
    assert form.text_content("#bc-name-id") == "Viewers see this title with your price; they reach you through your share link."  # no peer id jargon
    form.fill("[data-testid=bc-rate]", "1.5")
    assert form.text_content("#bc-rate-summary") == "The price must be a whole number of sats."
    form.fill("[data-testid=bc-payout]", regtest_address())
    assert error_after_start(form, "bc-rate") == "The price must be a whole number of sats."
    form.fill("[data-testid=bc-rate]", "0")
    assert field_error(form, "bc-rate") is None  # the old error goes once the field changes
    assert error_after_start(form, "bc-rate") == "The price must be from 1 to 1,000,000,000 sats."


def test_the_lock_time_is_shown_as_a_duration(form):
    form.click("#bc-advanced summary")
    form.fill("#bc-lock", "86400")
    assert form.text_content("#bc-lock-text") == "24 h 0 min"


def test_on_the_devnet_the_payout_can_be_an_address_of_this_browser(form):
    form.click("[data-testid=bc-own-payout]")
    first = form.input_value("[data-testid=bc-payout]")
    assert first.startswith("bcrt1q")
    form.fill("[data-testid=bc-payout]", "")
    form.click("[data-testid=bc-own-payout]")
    assert form.input_value("[data-testid=bc-payout]") == first  # its key is kept: the same address
