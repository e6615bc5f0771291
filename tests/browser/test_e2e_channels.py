"""End to end: a broadcaster and viewers in separate browser contexts, paying over the devnet."""

import json
import time

import pytest

from tests.browser.e2e_support import (FAST_TERMS, api, assert_settled_for_time_served, channel_of, confirmed_tx,
                                       downloaded, go_live, go_live_once_the_name_is_free, kept_receipts, open_and_fund,
                                       outputs_by_address, printout, regtest_address, share_link, state, viewer_record,
                                       wait_until, wait_watching, watching)
from tests.browser.screens import check

pytestmark = pytest.mark.browser

# What issue 13 asks a receipt to say (a viewer's: the broadcaster's has no funding fee or coins returned).
RECEIPT_FIELDS = ("stream", "broadcaster_fingerprint", "rate_sat_per_min", "started_at", "ended_at", "watched_s",
                  "paid_sat", "funding_fee_sat", "closing_fee_sat", "returned_sat", "funding_txid", "funding_url",
                  "closing_txid", "closing_url", "confirmations")


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
    paid = outputs[payout]
    assert_settled_for_time_served(record, paid)
    assert int(broadcaster.text_content("[data-testid=bc-earned]")) == paid
    value = record["channel"]["funding"]["value"]
    agreed_fee = channel_of(record).close_fee
    assert outputs[record["change_address"]] == value - paid - agreed_fee
    assert tx["fee"] == agreed_fee

    # a receipt on both sides, kept in the browser, whose numbers add up, with readable tx links
    assert viewer.text_content("[data-testid=offer-fingerprint]") == broadcaster.text_content(
        "[data-testid=bc-fingerprint]")
    (receipt,) = wait_until(lambda: kept_receipts(viewer, "viewer"), what="the viewer's receipt")
    assert receipt["paid_sat"] == paid and receipt["closing_txid"] == txid
    assert receipt["sent_sat"] == paid + receipt["funding_fee_sat"] + receipt["closing_fee_sat"] + receipt["returned_sat"]
    assert receipt["closing_fee_sat"] == agreed_fee and receipt["watched_s"] == record["video_ms"] // 1000
    shown = viewer.text_content("[data-testid=receipt]")
    assert "Funding fee (network)" in shown and txid in shown and "Download receipt (JSON)" in shown
    page = viewer.request.get(live_server.url + receipt["closing_url"])
    assert page.ok and "text/html" in page.headers["content-type"] and txid in page.text()
    (earned,) = wait_until(lambda: kept_receipts(broadcaster, "broadcaster"), what="the broadcaster's receipt")
    assert earned["paid_sat"] == paid and earned["closing_txid"] == txid


def test_a_receipt_follows_its_closing_transaction_into_a_block_and_is_kept_downloadable_and_printable(
        unmined_apps, unmined_server):
    broadcaster, viewer = watching(unmined_apps, "Receipt show", past=3)
    viewer.click("[data-testid=stop]")
    receipt = "[data-testid=receipt]"
    viewer.wait_for_selector(f"{receipt}:has-text('the closing transaction waits in the mempool')", timeout=30_000)
    api(unmined_server, "/devnet/mine", {"blocks": 1})  # buried (--buried 1): the page follows it, no reload
    viewer.wait_for_selector(f"{receipt}:has-text('Settled, confirmed (1 confirmation)')", timeout=30_000)

    (kept,) = kept_receipts(viewer, "viewer")
    assert all(kept[field] is not None for field in RECEIPT_FIELDS) and kept["final"]
    assert kept["started_at"] < kept["ended_at"] and "Ended" in viewer.text_content(receipt)
    name, text = downloaded(viewer, "[data-testid=receipt-download]")
    assert name.endswith(".json") and json.loads(text) == kept
    printed = printout(viewer, receipt)
    assert printed["outside"] == [], "only the receipt prints"
    assert kept["closing_txid"] in printed["shown"] and "Download receipt" not in printed["shown"]
    (earned,) = wait_until(lambda: kept_receipts(broadcaster, "broadcaster"), what="the broadcaster's receipt")
    assert earned["started_at"] < earned["ended_at"] <= kept["ended_at"]  # it closed; the viewer then saw the spend

    viewer.reload()
    viewer.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    viewer.wait_for_selector(f"{receipt}:has-text('Settled, confirmed (1 confirmation)')", timeout=30_000)
    assert kept["closing_txid"] in viewer.text_content(receipt)
    assert kept_receipts(viewer, "viewer") == [kept]


def test_viewer_tab_closes_broadcaster_settles_last_payment(apps, live_server):
    payout = regtest_address()
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Vanishing viewer", payout, rate=1200)
    viewer = apps.open()
    open_and_fund(viewer, share_link(broadcaster))
    wait_watching(viewer, past=5)
    viewer.context.close()
    # settled once unpaid past paid_until (prepay + one interval ahead) plus grace, seconds here, long
    # before the 3,600 s lock time would make it settle anyway (not a timing check: a bound on the wait)
    broadcaster.wait_for_selector("[data-testid=closing-txid]", timeout=60_000)
    txid = broadcaster.text_content("[data-testid=closing-txid]")
    earned = int(broadcaster.text_content("[data-testid=bc-earned]"))
    assert earned > 0
    tx = confirmed_tx(live_server, txid)
    assert outputs_by_address(tx)[payout] == earned
    assert broadcaster.text_content("[data-testid=viewer-row] td:last-child") == "Settled, confirmed"


def test_viewer_reload_resumes_the_same_channel(apps, live_server):
    payout = regtest_address()
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Reload show", payout, rate=1200, terms={**FAST_TERMS, "bc-grace": 30})
    viewer = apps.open()
    funding_address, _ = open_and_fund(viewer, share_link(broadcaster))
    wait_watching(viewer, past=4)
    before = viewer_record(viewer)
    assert before["state"] == "open"
    viewer.fill("#w-chat-input", "said before the reload")
    viewer.click("#w-chat-form button")
    broadcaster.wait_for_selector("#bc-chat-log li:has-text('said before the reload')")
    label = broadcaster.text_content("[data-testid=viewer-row] td")
    assert label == before["channel"]["viewer_pubkey"][2:10]  # named by K1, not by the connection

    viewer.reload()
    viewer.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert "you: said before the reload" in viewer.text_content("#w-chat-log")  # the conversation is kept
    wait_watching(viewer, past=3)
    assert broadcaster.text_content("[data-testid=viewer-row] td") == label  # a new connection, the same name
    wait_until(lambda: viewer_record(viewer)["amount"] > before["amount"], timeout=20, what="payments resume")
    after = viewer_record(viewer)
    assert after["channel"]["funding"] == before["channel"]["funding"]
    assert after["channel_secret"] == before["channel_secret"]
    assert viewer.is_hidden("[data-testid=funding-address]")
    assert len(api(live_server, f"/address/{funding_address}/txs")) == 2  # faucet in, T1 out: funded once
    assert broadcaster.locator("[data-testid=viewer-row]").count() == 1

    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    record = viewer_record(viewer)
    tx = confirmed_tx(live_server, record["closing_txid"])
    assert outputs_by_address(tx)[payout] <= record["amount"]  # what was watched (v2 §F), at most what was paid


def test_two_viewers_two_channels_end_and_cash_out(apps, live_server):
    payout = regtest_address()
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Two viewers", payout, rate=1200)
    link = share_link(broadcaster)
    viewers = [apps.open(), apps.open()]
    for viewer in viewers:
        open_and_fund(viewer, link)
    for viewer in viewers:
        wait_watching(viewer, past=4)
    records = [viewer_record(v) for v in viewers]
    assert records[0]["channel"]["funding"]["txid"] != records[1]["channel"]["funding"]["txid"]
    assert records[0]["offer"]["channel_pubkey"] != records[1]["offer"]["channel_pubkey"]  # fresh K2 each
    assert broadcaster.locator("[data-testid=viewer-row]").count() == 2

    broadcaster.click("[data-testid=bc-end]")
    broadcaster.click("[data-testid=bc-end-yes]")
    wait_until(lambda: broadcaster.locator("[data-testid=closing-txid]").count() == 2, timeout=30,
               what="two closings")
    txids = sorted(broadcaster.locator("[data-testid=closing-txid]").all_text_contents())
    for viewer in viewers:
        viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    assert sorted(v.text_content("[data-testid=closing-txid]") for v in viewers) == txids
    earned = int(broadcaster.text_content("[data-testid=bc-earned]"))
    records = [viewer_record(v) for v in viewers]
    payouts = [outputs_by_address(confirmed_tx(live_server, txid))[payout] for txid in txids]
    assert sum(payouts) == earned == sum(r["amount"] for r in records)
    assert all(state(v) == "closed" for v in viewers)


def test_impostor_under_the_same_name_is_refused(apps, live_server):
    real = apps.open("#/broadcast")
    go_live(real, "Impostor test", regtest_address())
    link = share_link(real)
    real_fingerprint = real.text_content("[data-testid=bc-fingerprint]")

    impostor = apps.open("#/broadcast")
    go_live(impostor, "Impostor test", regtest_address())
    impostor.wait_for_selector("[data-testid=error]:visible", timeout=30_000)
    assert "taken" in impostor.text_content("#bc-error")

    real.context.close()
    go_live_once_the_name_is_free(impostor, timeout=30)
    assert impostor.get_attribute("[data-testid=share-link]", "href") != link

    viewer = apps.open()
    viewer.goto(link)
    viewer.wait_for_selector("[data-testid=error]:visible", timeout=30_000)
    said = viewer.text_content("#w-error")
    fingerprint = real_fingerprint  # the one the real broadcaster's page showed
    assert "not signed by the broadcaster your link names" in said and fingerprint in said
    assert viewer.text_content("#w-status") == "Stopped before anything was paid."  # not "Waiting for…"
    assert viewer.is_hidden("[data-testid=funding-address]")
    assert viewer.is_hidden("#w-offer")
    check(viewer, "watch-impostor")


def test_broadcaster_reload_resumes_the_broadcast_and_its_channels_by_itself(apps, live_server):
    payout = regtest_address()
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, "Reloading broadcaster", payout, rate=1200, terms={**FAST_TERMS, "bc-grace": 30})
    link = share_link(broadcaster)
    viewer = apps.open()
    open_and_fund(viewer, link)
    wait_watching(viewer, past=4)
    paid = viewer_record(viewer)["amount"]

    broadcaster.reload()
    broadcaster.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert share_link(broadcaster) == link  # live again by itself, under the same link
    assert broadcaster.locator("[data-testid=viewer-row]").count() == 1
    wait_watching(viewer, timeout=60_000, past=2)  # the viewer resumed (signed by K1) and sees video again
    wait_until(lambda: viewer_record(viewer)["amount"] > paid, timeout=30, what="payments resume")

    viewer.click("[data-testid=stop]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    txid = viewer.text_content("[data-testid=closing-txid]")
    broadcaster.wait_for_selector("[data-testid=closing-txid]", timeout=30_000)
    assert broadcaster.text_content("[data-testid=closing-txid]") == txid
    earned = int(broadcaster.text_content("[data-testid=bc-earned]"))
    assert outputs_by_address(confirmed_tx(live_server, txid))[payout] == earned <= viewer_record(viewer)["amount"]
    wait_until(lambda: f"and paid {earned:,} sats" in viewer.text_content("#w-result-text"), timeout=10,
               what="the outcome as the chain has it")
