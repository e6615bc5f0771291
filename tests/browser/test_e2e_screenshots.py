"""Screenshots of every screen (desktop and phone), from a real session, on every run.

They go to test-results/screenshots/ (git-ignored) to look at; with
STREAMIUM_SCREENSHOTS=1 they refresh the committed ones in docs/screenshots/:
STREAMIUM_SCREENSHOTS=1 python3 tools/test.py tests/browser/test_e2e_screenshots.py
"""

import os
from pathlib import Path

import pytest

from tests.browser.e2e_support import (go_live, open_and_fund, regtest_address, share_link,
                                       wait_watching)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ("docs/screenshots" if os.environ.get("STREAMIUM_SCREENSHOTS") else "test-results/screenshots")

def shot(page, name):
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def test_screenshots_of_each_screen(apps):
    broadcaster = apps.open("#/")
    shot(broadcaster, "home")
    broadcaster.goto(apps.server.url + "/#/broadcast")
    broadcaster.wait_for_selector("#bc-form:visible")
    broadcaster.fill("[data-testid=bc-name]", "Sunday sketching")
    broadcaster.fill("[data-testid=bc-payout]", regtest_address())
    broadcaster.fill("[data-testid=bc-rate]", "1200")
    broadcaster.dispatch_event("[data-testid=bc-rate]", "input")
    broadcaster.click("#bc-advanced summary")
    shot(broadcaster, "broadcast-setup")
    go_live(broadcaster, "Sunday sketching", regtest_address(), rate=1200)
    link = share_link(broadcaster)

    viewer = apps.open()
    viewer.goto(link)
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    shot(viewer, "watch-offer")
    open_and_fund(viewer, link)
    shot(viewer, "watch-funding")
    wait_watching(viewer, past=4)
    viewer.fill("#w-chat-input", "Hello from the viewer!")
    viewer.click("#w-chat-form button")
    broadcaster.wait_for_selector("#bc-chat-log li")
    shot(viewer, "watch-playing")
    shot(broadcaster, "broadcast-live")
    viewer.set_viewport_size({"width": 390, "height": 844})
    shot(viewer, "watch-playing-phone")
    viewer.set_viewport_size({"width": 1100, "height": 900})
    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    assert viewer.text_content("[data-testid=channel-state]") == "closed"
    assert viewer.is_hidden("#w-player")
    shot(viewer, "watch-closed")
    broadcaster.click("[data-testid=bc-end]")
    broadcaster.wait_for_selector("#bc-end-status:has-text('Broadcast ended')", timeout=30_000)
    shot(broadcaster, "broadcast-ended")
    broadcaster.set_viewport_size({"width": 390, "height": 844})
    shot(broadcaster, "broadcast-ended-phone")
