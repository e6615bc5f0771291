"""End to end, protocol v2 §B: a viewer who replaces its unconfirmed funding after watching
(full RBF, as Bitcoin Core 28 relays by default) stops the video at once and gets nothing
more; the broadcaster ends the channel `funding_gone`, counts no earnings from it, and keeps
its T3 until the replacement is buried."""

import pytest

from app.channel import transactions as txs
from app.channel.addresses import address_script
from app.channel.signatures import private_key
from tests.browser.e2e_support import api, playing_time, post_tx, viewer_record, wait_until, watching

pytestmark = pytest.mark.browser


def replacement_of_funding(record, fee_rate=20):
    """What the viewer's own wallet could broadcast: its funding coins, home, at a higher fee."""
    coins = [txs.Utxo(c["txid"], c["vout"], c["value"]) for c in record["utxos"]]
    home = address_script(record["change_address"], "regtest")
    tx = txs.funding_tx(coins, home, sum(c.value for c in coins), home, fee_rate)
    return txs.tx_hex(txs.sign_funding(tx, coins, private_key(bytes.fromhex(record["channel_secret"]))))


def test_a_funding_replaced_after_watching_stops_the_video_and_earns_nothing(unmined_apps, unmined_server):
    broadcaster, viewer = watching(unmined_apps, "Replaced funding show", past=4)
    record = viewer_record(viewer)
    funding = record["channel"]["funding"]["txid"]
    assert api(unmined_server, f"/tx/{funding}/status") == {"confirmed": False}

    replacement = post_tx(unmined_server, replacement_of_funding(record))
    assert api(unmined_server, f"/tx/{funding}/status") == {"confirmed": False}
    assert api(unmined_server, "/mempool/txids")[-1] == replacement

    row = "[data-testid=viewer-row] td:last-child"
    wait_until(lambda: "Funding gone" in broadcaster.text_content(row),
               timeout=20, what="the broadcaster seeing the funding gone")
    stopped = playing_time(viewer)
    wait_until(lambda: viewer_record(viewer)["end_reason"] == "funding_gone", timeout=10,
               what="the viewer told why")
    assert playing_time(viewer) <= stopped + 1
    assert int(broadcaster.text_content("[data-testid=bc-earned]")) == 0
    assert funding not in api(unmined_server, "/mempool/txids")
    assert broadcaster.text_content(row) == "Funding gone: watching in case it comes back", \
        "its T3 is kept while the conflict may vanish"
    api(unmined_server, "/devnet/mine", {"blocks": 1})  # the replacement buried (--buried 1)
    wait_until(lambda: broadcaster.text_content(row) == "Funding gone: nothing was earned", timeout=20,
               what="the broadcaster forgetting the channel once the replacement is buried")
    assert int(broadcaster.text_content("[data-testid=bc-earned]")) == 0
