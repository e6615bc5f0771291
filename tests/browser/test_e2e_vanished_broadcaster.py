"""End to end: the broadcaster vanishes mid-stream; after the lock time the viewer claims its refund.

This test moves the devnet clock forward (about 1 h 50 min, near the kernel's limit), so it
lives in the last e2e file: every channel opened after it would already be refundable.
"""

import pytest

from tests.browser.e2e_support import (api, channel_of, confirmed_tx, outputs_by_address, state, viewer_record,
                                       watching)

pytestmark = pytest.mark.browser


def test_broadcaster_vanishes_viewer_claims_refund_after_lock_time(apps, live_server):
    broadcaster, viewer = watching(apps, "Vanishing broadcaster", past=3)
    broadcaster.context.close()

    viewer.wait_for_selector("[data-testid=refund-claim]:visible", timeout=30_000)
    assert viewer.is_disabled("[data-testid=refund-claim]")
    record = viewer_record(viewer)
    channel = channel_of(record)
    mined = api(live_server, "/devnet/mine", {"blocks": 12, "advance_s": 6600})
    assert api(live_server, "/devnet/info")["median_time_past"] >= channel.lock_time, mined

    viewer.wait_for_selector("[data-testid=refund-claim]:enabled", timeout=30_000)
    viewer.click("[data-testid=refund-claim]")
    viewer.wait_for_selector("[data-testid=closing-txid]", timeout=60_000)
    txid = viewer.text_content("[data-testid=closing-txid]")
    tx = confirmed_tx(live_server, txid)
    refund = channel.refund_tx()
    assert tx["vin"][0]["txid"] == record["channel"]["funding"]["txid"]
    assert outputs_by_address(tx) == {record["change_address"]: refund.vout[0].value}
    assert refund.vout[0].value < record["channel"]["funding"]["value"]  # deposit minus the refund fee
    assert state(viewer) == "closed"
    assert viewer_record(viewer)["end_reason"] == "refund"
