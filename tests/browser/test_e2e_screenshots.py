"""Every screen of a real session, on a desktop and on a 390 px phone: no horizontal scroll on
the phone, no serious or critical axe-core violation at either size, and a screenshot of each.

Screenshots go to test-results/screenshots/ (git-ignored) to look at; with
STREAMIUM_SCREENSHOTS=1 they refresh the committed ones in docs/screenshots/:
STREAMIUM_SCREENSHOTS=1 python3 tools/test.py tests/browser/test_e2e_screenshots.py
"""

import os
from pathlib import Path

import pytest

from tests.browser.e2e_support import go_live, open_and_fund, regtest_address, share_link, wait_until, wait_watching

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ("docs/screenshots" if os.environ.get("STREAMIUM_SCREENSHOTS") else "test-results/screenshots")
AXE = ROOT / "assets" / "vendor" / "axe-core" / "axe.min.js"  # vendored from npm (tools/vendor-lock.json)
DESKTOP, PHONE = {"width": 1100, "height": 900}, {"width": 390, "height": 844}
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > innerWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right))
    .slice(0, 8)"""
AXE_RUN = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return {rules_passed: result.passes.length,
            serious: result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))};
}"""


def check(page, name, phone=True):
    """`page` as it is now, at both sizes: shot, measured, and checked by axe-core."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")) if phone else ((DESKTOP, ""),):
        page.set_viewport_size(size)
        page.wait_for_timeout(300)  # the new width laid out
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
        if size is PHONE:
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], \
                (name, page.evaluate(WIDER_THAN_THE_SCREEN))
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        axe = page.evaluate(AXE_RUN)
        assert axe["rules_passed"] > 10 and axe["serious"] == [], f"{name}{suffix}: {axe}"
    page.set_viewport_size(DESKTOP)


def test_every_screen_fits_a_phone_and_passes_axe_core(apps):
    broadcaster = apps.open("#/")
    check(broadcaster, "home")
    broadcaster.goto(apps.server.url + "/#/broadcast")
    broadcaster.wait_for_selector("#bc-form:visible")
    broadcaster.fill("[data-testid=bc-name]", "Sunday sketching")
    broadcaster.fill("[data-testid=bc-payout]", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    broadcaster.click("[data-testid=bc-start]")
    broadcaster.wait_for_selector("[data-testid=field-error]:visible")
    check(broadcaster, "broadcast-form-error", phone=False)
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
    open_and_fund(viewer, link)
    check(viewer, "watch-funding")
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
    check(viewer, "watch-closed")
    broadcaster.click("[data-testid=bc-end]")
    broadcaster.wait_for_selector("[data-testid=bc-end-confirm]:visible")
    check(broadcaster, "broadcast-end-confirm", phone=False)
    broadcaster.click("[data-testid=bc-end-yes]")
    broadcaster.wait_for_selector("#bc-end-status:has-text('Broadcast ended')", timeout=30_000)
    assert broadcaster.is_visible("[data-testid=bc-next]")
    wait_until(lambda: broadcaster.locator("[data-testid=receipt] table").count(), what="the broadcaster's receipt")
    broadcaster.click("#bc-closings summary")
    check(broadcaster, "broadcast-ended")
