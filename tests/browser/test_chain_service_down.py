"""With the chain service down, the page says so in plain words on the home page (with a way
to try again) and when going live, instead of a raw 'TypeError: Failed to fetch'."""

import pytest

from tests.browser.e2e_support import open_app, other_server, regtest_address
from tests.browser.screens import check

DEAD = "http://127.0.0.1:9/api"  # the discard port: nothing answers


@pytest.fixture
def no_chain_server(tmp_path):
    with other_server(tmp_path, "--no-devnet", "--network", "regtest", "--esplora", DEAD) as server:
        yield server


def test_the_home_page_and_go_live_say_the_chain_service_is_down(page, no_chain_server):
    open_app(page, no_chain_server)
    page.wait_for_selector("[data-testid=home-chain]:visible", timeout=30_000)
    said = page.text_content("#home-chain-text")
    assert f"The chain service at {DEAD} cannot be reached right now" in said and "try again" in said
    page.click("#home-chain-retry")
    page.wait_for_selector("#home-chain-text:has-text('cannot be reached')")
    check(page, "home-chain-down")

    page.click("[data-testid=home-broadcast]")
    page.fill("[data-testid=bc-name]", "No chain")
    page.fill("[data-testid=bc-payout]", regtest_address())
    page.click("[data-testid=bc-start]")
    page.wait_for_selector("#bc-error:visible", timeout=90_000)
    said = page.text_content("#bc-error")
    assert said.startswith(f"The chain service at {DEAD} cannot be reached") and "press Go live to try again" in said
    assert page.is_enabled("[data-testid=bc-start]")  # the way to try again
