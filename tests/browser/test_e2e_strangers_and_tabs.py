"""End to end, protocol v2's defences (§A, §D) in real Chromium over real WebRTC and signalling:
a stranger who knows a channel's public keys cannot resume, settle or end it, and a second tab
of the same browser cannot drive a channel from a copy of its record."""

import time
from urllib.parse import urlsplit

import pytest

from tests.browser.e2e_support import (FAST_TERMS, api, as_stranger, at_the_offer, go_live, go_live_once_the_name_is_free,
                                       open_and_fund, playing_time, regtest_address, share_link, state,
                                       viewer_record, wait_until, wait_watching, watching)

pytestmark = pytest.mark.browser

SLOW_GRACE = {**FAST_TERMS, "bc-grace": 30}


def test_a_stranger_who_knows_the_funding_cannot_resume_close_or_knock_the_viewer_off(apps, live_server):
    broadcaster, viewer = watching(apps, "Stranger show", past=3)
    record = viewer_record(viewer)
    funding, k1 = record["channel"]["funding"]["txid"], record["channel"]["viewer_pubkey"]  # public, on the chain
    now = int(time.time())
    forged = {"v": 2, "type": "resume", "funding_txid": funding, "viewer_pubkey": k1, "at": now,
              "sig": "3006020101020101"}
    stranger = apps.open()
    replies = as_stranger(stranger, "streamium-stranger-show", [
        forged, {"v": 2, "type": "close"}, {"v": 2, "type": "pay", "amount": 100_000, "sig": "30" * 8},
        {"v": 2, "type": "chat", "text": "pay me"}], urlsplit(live_server.url).port)
    assert [r["code"] for r in replies] == ["not_open"] * 4, replies

    before, paid = playing_time(viewer), viewer_record(viewer)["amount"]
    time.sleep(6)
    assert playing_time(viewer) > before + 4  # never knocked off
    assert viewer_record(viewer)["amount"] > paid and state(viewer) == "open"
    assert broadcaster.text_content("[data-testid=viewer-row] td:last-child") == "Watching and paying"
    assert broadcaster.locator("[data-testid=closing-txid]").count() == 0


def test_a_second_broadcaster_tab_stays_out_until_it_takes_over(apps, live_server):
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Two tabs show", regtest_address(), rate=1200, terms=SLOW_GRACE)
    link = share_link(broadcaster)
    viewer = apps.open()
    open_and_fund(viewer, link)
    wait_watching(viewer, past=3)

    second = apps.tab(broadcaster, "#/broadcast")
    second.wait_for_selector("[data-testid=elsewhere]:visible", timeout=30_000)
    assert second.is_hidden("#bc-form") and second.locator("[data-testid=viewer-row]").count() == 0
    time.sleep(30)  # the old second tab settled every channel on a stale payment by now
    assert state(viewer) == "open" and broadcaster.locator("[data-testid=closing-txid]").count() == 0

    paid = viewer_record(viewer)["amount"]
    second.click("[data-testid=take-over]")
    broadcaster.wait_for_selector("#bc-elsewhere-text:has-text('taken over')", timeout=30_000)
    assert share_link(second) == link  # the broadcast goes on from the tab that took over
    wait_watching(viewer, timeout=60_000, past=2)
    wait_until(lambda: viewer_record(viewer)["amount"] > paid, timeout=30, what="payments to the new tab")
    assert second.locator("[data-testid=viewer-row]").count() == 1


def test_a_second_viewer_tab_on_the_same_link_leaves_the_first_tabs_key_alone(apps, live_server):
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Viewer tabs show", regtest_address(), rate=1200)
    link = share_link(broadcaster)
    viewer = apps.open()
    viewer.goto(link)
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    viewer.click("#w-accept")
    viewer.wait_for_selector("[data-testid=funding-address]:visible")
    first = viewer_record(viewer)

    second = apps.tab(viewer, "#" + link.split("#", 1)[1])
    second.wait_for_selector("[data-testid=elsewhere]:visible", timeout=30_000)
    assert second.is_hidden("[data-testid=funding-address]") and second.is_hidden("#w-offer")
    keys = viewer.evaluate("Object.keys(localStorage).filter(k => k.startsWith('streamium:viewer:'))")
    assert len([k for k in keys if not k.endswith(":refund-key")]) == 1
    assert viewer_record(viewer)["channel_secret"] == first["channel_secret"]

    viewer.click("[data-testid=faucet]")  # the first tab's funding address still has its key
    wait_watching(viewer, past=2)


def test_coins_paid_after_the_channel_failed_come_home_with_recover_my_coins(apps, live_server):
    """The broadcaster went away after the viewer took its offer; what the viewer's wallet then
    paid to the funding address is swept to its refund address, the fee shown first."""
    first, viewer = at_the_offer(apps, "Recover show")
    viewer.click("#w-accept")
    viewer.wait_for_selector("[data-testid=funding-address]:visible")
    address = viewer.text_content("[data-testid=funding-address]")
    first.context.close()
    other = apps.open("#/broadcast")  # someone else now broadcasts under the name
    go_live(other, "Recover show", regtest_address(), rate=5000)

    go_live_once_the_name_is_free(other)
    viewer.reload()  # the viewer comes back to the page: it is still funding, and meets the other offer
    viewer.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    viewer.wait_for_selector("[data-testid=error]:visible", timeout=60_000)

    api(live_server, "/devnet/faucet", {"address": address, "amount_sat": 25_000})  # an outside wallet pays anyway
    viewer.wait_for_selector("[data-testid=recover-box]:visible", timeout=40_000)
    text = viewer.text_content("#w-recover-text")
    fee = int(text.split("the network fee is ")[1].split(" sat")[0].replace(",", ""))
    refund = viewer_record(viewer)["change_address"]
    assert "25,000 sats are at your funding address" in text and refund in text
    viewer.click("[data-testid=recover]")
    wait_until(lambda: api(live_server, f"/address/{address}/utxo") == [], timeout=30, what="the sweep")
    received = [u["value"] for u in api(live_server, f"/address/{refund}/utxo")]
    assert received == [25_000 - fee]
