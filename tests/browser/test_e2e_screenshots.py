"""Every screen of a real session, checked by tests/browser/screens.py's check (phone width, axe-core,
screenshots for docs/screenshots/)."""

import pytest

from tests.browser.e2e_support import accept_offer, go_live, regtest_address, share_link, wait_until, wait_watching
from tests.browser.screens import check

pytestmark = pytest.mark.browser


def test_every_screen_fits_a_phone_and_passes_axe_core(apps):
    broadcaster = apps.open("#/")
    check(broadcaster, "home")
    broadcaster.goto(apps.server.url + "/#/broadcast")
    broadcaster.wait_for_selector("#bc-form:visible")
    broadcaster.fill("[data-testid=bc-name]", "Sunday sketching")
    broadcaster.fill("[data-testid=bc-payout]", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    broadcaster.click("[data-testid=bc-start]")
    broadcaster.wait_for_selector("[data-testid=field-error]:visible")
    check(broadcaster, "broadcast-form-error")
    broadcaster.fill("[data-testid=bc-payout]", regtest_address())
    broadcaster.fill("[data-testid=bc-rate]", "1200")
    broadcaster.dispatch_event("[data-testid=bc-rate]", "input")
    broadcaster.click("#bc-advanced summary")
    check(broadcaster, "broadcast-setup")
    go_live(broadcaster, "Sunday sketching", regtest_address(), rate=1200)
    link = share_link(broadcaster)

    viewer = apps.open()
    viewer.goto(link)
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    check(viewer, "watch-offer")
    accept_offer(viewer)
    assert viewer.evaluate("document.activeElement.textContent") == "Fund your channel"  # focus on the new screen
    check(viewer, "watch-funding")
    viewer.click("[data-testid=faucet]")
    wait_watching(viewer, past=4)
    viewer.fill("#w-chat-input", "Hello from the viewer!")
    viewer.click("#w-chat-form button")
    broadcaster.wait_for_selector("#bc-chat-log li")
    check(viewer, "watch-playing")
    check(broadcaster, "broadcast-live")
    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    viewer.wait_for_selector("[data-testid=receipt] table", timeout=30_000)
    assert viewer.text_content("[data-testid=channel-state]") in ("Settled, confirming", "Settled, confirmed")
    assert viewer.is_hidden("#w-player")
    assert viewer.evaluate("document.activeElement.textContent") == "Channel closed"
    check(viewer, "watch-closed")
    broadcaster.click("[data-testid=bc-end]")
    broadcaster.wait_for_selector("[data-testid=bc-end-confirm]:visible")
    check(broadcaster, "broadcast-end-confirm")
    broadcaster.click("[data-testid=bc-end-yes]")
    broadcaster.wait_for_selector("#bc-end-status:has-text('Broadcast ended')", timeout=30_000)
    assert broadcaster.is_visible("[data-testid=bc-next]")
    assert broadcaster.evaluate("document.activeElement.id") == "bc-again"  # the next step has the keyboard
    wait_until(lambda: broadcaster.locator("[data-testid=receipt] table").count(), what="the broadcaster's receipt")
    broadcaster.click("#bc-closings summary")
    check(broadcaster, "broadcast-ended")
