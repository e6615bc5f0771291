"""End to end: a broadcaster and viewers in separate browser contexts, paying over the devnet."""

import time

import pytest

from tests.browser.e2e_support import (Apps, close_fee_of, confirmed_tx, go_live, open_and_fund, outputs_by_address,
                                       regtest_address, share_link, state, viewer_record, wait_until,
                                       wait_watching)

pytestmark = pytest.mark.browser


@pytest.fixture
def apps(browser, page, live_server, request_log):
    opened = Apps(browser, live_server, request_log)
    yield opened
    opened.close()


def test_happy_path_watch_pay_stop_and_settle(apps, live_server):
    payout = regtest_address()
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Happy path show", payout, rate=1200)
    link = share_link(broadcaster)
    assert link.startswith(live_server.url + "/#/watch/Happy%20path%20show/")

    viewer = apps.open()
    open_and_fund(viewer, link, minutes=5)
    wait_watching(viewer)
    broadcaster.wait_for_selector("[data-testid=viewer-row]")
    start = viewer.evaluate("document.querySelector('[data-testid=remote-video]').currentTime")
    time.sleep(20)
    video = viewer.evaluate("""() => { const v = document.querySelector('[data-testid=remote-video]');
                               return {t: v.currentTime, w: v.videoWidth}; }""")
    assert video["t"] > start + 15 and video["w"] > 0
    assert state(viewer) == "open"
    paid_before_stop = int(viewer.text_content("[data-testid=paid-total]"))
    assert paid_before_stop > 0

    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    txid = viewer.text_content("[data-testid=closing-txid]")
    record = viewer_record(viewer)
    assert record["state"] == "closed" and record["closing_txid"] == txid
    broadcaster.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    assert broadcaster.text_content("[data-testid=closing-txid]") == txid

    tx = confirmed_tx(live_server, txid)
    outputs = outputs_by_address(tx)
    paid = record["amount"]
    rate, interval, prepay = 1200, 2, 4
    watched = record["video_ms"] / 1000
    assert outputs[payout] == paid
    assert paid >= 294
    # what the seconds watched justify, within one payment interval (protocol §5)
    assert abs(paid - max(294, rate * (watched + prepay) / 60)) <= rate * interval / 60 + 1
    assert int(broadcaster.text_content("[data-testid=bc-earned]")) == paid
    value = record["channel"]["funding"]["value"]
    agreed_fee = close_fee_of(record)
    assert outputs[record["change_address"]] == value - paid - agreed_fee
    assert tx["fee"] == agreed_fee
