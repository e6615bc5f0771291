"""What a newcomer meets on each screen: a share link asked for (not a bare name), the focus on
each new screen's heading, an offer that states its minimum charge in time and the shortest
session's whole cost, presets that show which is chosen, the phone's share sheet, the payout
address shown once live, a deposit that can be changed and copied into a wallet, and numbers that
agree while watching."""

import pytest

from tests.browser.e2e_support import at_the_offer, go_live, regtest_address, share_link, wait_watching

pytestmark = pytest.mark.browser


def test_a_bare_stream_name_on_the_home_page_asks_for_the_share_link(app_page):
    app_page.fill("[data-testid=home-watch-input]", "Sunday sketching")
    app_page.click("[data-testid=home-watch]")
    app_page.wait_for_selector("#home-watch-input-error:visible")
    assert "Paste the whole share link" in app_page.text_content("#home-watch-input-error")
    assert app_page.evaluate("location.hash") in ("", "#/")
    app_page.fill("[data-testid=home-watch-input]", "http://x/#/watch/a/b")
    assert app_page.is_hidden("#home-watch-input-error")  # gone once the field changes


def test_each_new_screen_takes_the_keyboard_focus_to_its_heading(app_page):
    app_page.click("[data-testid=home-broadcast]")
    app_page.wait_for_selector("#bc-form:visible")
    assert app_page.evaluate("document.activeElement.outerHTML").startswith("<h1")
    assert app_page.evaluate("document.activeElement.textContent") == "Broadcast"


def test_the_offer_states_its_minimum_charge_in_time_and_what_a_short_session_costs(apps):
    payout = regtest_address()
    broadcaster, viewer = at_the_offer(apps, "Slow and cheap", rate=100, payout=payout)
    assert broadcaster.text_content("[data-testid=bc-live-payout]") == payout
    assert broadcaster.text_content("[data-testid=bc-media-mode]") == "Video: from this browser to each paying viewer"
    assert viewer.evaluate("document.activeElement.id") == "w-name"  # the offer's heading
    minimum = viewer.text_content("[data-testid=minimum-charge]")
    assert "at least the minimum charge of 294 sats (≈ 2 min 56 s at this price)" in minimum
    assert "Time paid ahead comes back when you stop" in minimum
    assert "funding 122 sats, closing 169 sats; the shortest session costs 585 sats in all" in minimum
    viewer.click("#w-presets [data-minutes='5']")
    assert viewer.get_attribute("#w-presets [data-minutes='5']", "aria-pressed") == "true"
    assert viewer.get_attribute("#w-presets [data-minutes='15']", "aria-pressed") == "false"
    total = viewer.text_content("#w-total")  # 5 min at 100 sats/min is below the minimum deposit
    assert total.startswith("Deposit 3,000 sats (the broadcaster's minimum deposit): up to 28 min 18 s")
    assert "closing fee comes out of it" in total


def test_the_share_link_goes_to_the_phones_share_sheet_where_there_is_one(apps):
    broadcaster = apps.open("#/broadcast", init_script="navigator.share = (data) => { window.shared = data; "
                                                      "return Promise.resolve(); };")
    broadcaster.wait_for_selector("#bc-form:visible")
    go_live(broadcaster, "Shared from a phone", regtest_address())
    link = share_link(broadcaster)
    broadcaster.click("[data-testid=bc-share]")
    broadcaster.wait_for_function("window.shared !== undefined")
    assert broadcaster.evaluate("window.shared") == {"title": "Shared from a phone", "url": link}


def test_the_deposit_can_be_changed_from_the_funding_screen_until_coins_arrive(apps):
    _, viewer = at_the_offer(apps, "Second thoughts")
    viewer.click("#w-presets [data-minutes='5']")
    viewer.click("#w-accept")
    viewer.wait_for_selector("[data-testid=funding-address]:visible")
    first = int(viewer.text_content("[data-testid=funding-amount]"))
    address = viewer.text_content("[data-testid=funding-address]")
    viewer.click("[data-testid=change-deposit]")
    viewer.wait_for_selector("#w-offer:visible")
    assert viewer.is_hidden("#w-funding")
    viewer.click("#w-presets [data-minutes='15']")
    viewer.click("#w-accept")
    viewer.wait_for_selector("[data-testid=funding-address]:visible")
    assert int(viewer.text_content("[data-testid=funding-amount]")) == first + 2 * 6000  # 10 more minutes
    assert viewer.text_content("[data-testid=funding-address]") == address  # the same key, the same address
    viewer.evaluate("Object.defineProperty(navigator.clipboard, 'writeText', "
                    "{value: (text) => { window.copied = text; return Promise.resolve(); }})")
    viewer.click("#w-copy-amount")
    assert viewer.evaluate("window.copied") == viewer.text_content("#w-funding-amount-btc")
    assert viewer.evaluate("window.copied") == f"{(first + 12000) / 1e8:.8f}"  # in BTC, as a wallet's send field takes it
    viewer.click("[data-testid=faucet]")
    wait_watching(viewer, past=2)
    assert viewer.is_hidden("#w-low-funds")  # 15 min ahead: no warning at the start
    left = viewer.text_content("#w-balance")  # what has not been watched yet, not what is unpaid
    assert left.endswith(" sats") and int(left[:-5].replace(",", "")) > first
    assert "min" in viewer.text_content("#w-time-left")
