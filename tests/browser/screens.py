"""A screen checked as a newcomer would meet it, at a desktop width and on a 390 px phone: no
horizontal scroll on the phone, no serious or critical axe-core violation at either size, and a
screenshot of each.

Screenshots go to test-results/screenshots/ (git-ignored) to look at; with
STREAMIUM_SCREENSHOTS=1 they refresh the committed ones in docs/screenshots/:
STREAMIUM_SCREENSHOTS=1 python3 tools/test.py tests/browser/test_e2e_screenshots.py
"""

import os
from pathlib import Path

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


def check(page, name):
    """`page` as it is now, at both sizes: shot, measured, and checked by axe-core."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)
        page.wait_for_timeout(300)  # the new width laid out
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
        if size is PHONE:  # no scrolling sideways, and nothing cut off inside a box that scrolls
            wider = page.evaluate(WIDER_THAN_THE_SCREEN)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (name, wider)
            assert wider == [], name
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        axe = page.evaluate(AXE_RUN)
        assert axe["rules_passed"] > 10 and axe["serious"] == [], f"{name}{suffix}: {axe}"
    page.set_viewport_size(DESKTOP)
