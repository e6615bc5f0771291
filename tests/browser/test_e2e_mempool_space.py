"""End to end against an Esplora that answers as mempool.space does (203 fee estimates,
electrs' answers, CORS), on another origin and 150 ms away, rate-limiting and failing the
first tries of every broadcast (503, then 429), with the viewer paying from an outside wallet:
the funding address is paid by a separate faucet call, as a phone wallet would."""

import time
from pathlib import Path

import pytest

from tests.browser.e2e_support import (Apps, api, assert_settled_for_time_served, go_live, outputs_by_address,
                                       regtest_address, share_link, viewer_record, wait_until, wait_watching)
from tests.conftest import RequestLog, ServerProcess

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def mempool_space(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("mempool-space") / "data"
    server = ServerProcess("--latency-ms", "150", "--block-interval", "2", "--busy", "2", "--flaky-posts",
                           data_dir=data_dir,
                           script=HERE / "mempool_space.py", ready_path="/api/blocks/tip/height").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, mempool_space):
    """serve.py with no devnet of its own: its chain API is the mempool.space look-alike."""
    data_dir = tmp_path_factory.mktemp("outside-app") / "data"
    server = ServerProcess("--network", "regtest", "--esplora", mempool_space.url + "/api", "--buried", "1",
                           data_dir=data_dir).start()
    yield server
    server.stop()


def test_broadcast_watch_and_settle_against_a_mempool_space_esplora(browser, app_server, mempool_space):
    log = RequestLog(app_server.url)
    apps = Apps(browser, app_server, log)
    try:
        payout, refund = regtest_address(), regtest_address()
        broadcaster = apps.open("#/broadcast")
        go_live(broadcaster, "Outside wallet show", payout, rate=1200)
        waiting = broadcaster.wait_for_selector("[data-testid=bc-chain-status]:visible", timeout=10_000)
        assert "The chain service is busy (HTTP 429); trying again in 2 s" in waiting.text_content()  # Retry-After
        link = share_link(broadcaster)  # after two 429s, the 203 fee estimates were good enough to go live
        assert not broadcaster.is_visible("[data-testid=bc-chain-status]")

        viewer = apps.open()
        viewer.goto(link)
        viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
        viewer.fill("[data-testid=watch-minutes]", "5")
        viewer.dispatch_event("[data-testid=watch-minutes]", "input")
        viewer.fill("#w-refund", refund)
        viewer.click("#w-accept")
        viewer.wait_for_selector("[data-testid=funding-address]:visible")
        assert not viewer.is_visible("[data-testid=faucet]")  # no devnet here: an outside wallet pays
        address = viewer.text_content("[data-testid=funding-address]")
        amount = int(viewer.text_content("[data-testid=funding-amount]"))
        api(mempool_space, "/devnet/faucet", {"address": address, "amount_sat": amount})

        wait_watching(viewer, timeout=60_000)
        time.sleep(8)
        viewer.click("[data-testid=stop]")
        viewer.wait_for_selector("[data-testid=closing-txid]", timeout=60_000)
        txid = viewer.text_content("[data-testid=closing-txid]")
        broadcaster.wait_for_selector("[data-testid=closing-txid]", timeout=60_000)
        assert broadcaster.text_content("[data-testid=closing-txid]") == txid

        wait_until(lambda: api(mempool_space, f"/tx/{txid}/status")["confirmed"], timeout=30,
                   what="the closing transaction confirmed")
        record = viewer_record(viewer)
        tx = api(mempool_space, f"/tx/{txid}")
        outputs = outputs_by_address(tx)
        paid = outputs[payout]
        assert_settled_for_time_served(record, paid)
        assert outputs[refund] == record["channel"]["funding"]["value"] - paid - tx["fee"]
        assert int(broadcaster.text_content("[data-testid=bc-earned]")) == paid
    finally:
        apps.close()
    foreign = log.foreign()
    assert foreign and all(url.startswith(mempool_space.url + "/api/") for url in foreign), foreign
    assert mempool_space.url + "/api/fee-estimates" in foreign
