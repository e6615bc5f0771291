"""Fixtures for the app's end-to-end tests."""

import pytest

from tests.browser.e2e_support import Apps
from tests.conftest import RequestLog, ServerProcess


@pytest.fixture
def apps(browser, page, live_server, request_log):
    """Pages of the app in separate browser contexts, every request recorded by `request_log`."""
    opened = Apps(browser, live_server, request_log)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def unmined_server(tmp_path_factory):
    """A devnet whose blocks wait an hour: transactions stay in the mempool until a test mines
    (`/api/devnet/mine`), and one confirmation buries."""
    data_dir = tmp_path_factory.mktemp("unmined") / "data"
    server = ServerProcess("--block-interval", "3600", "--buried", "1", data_dir=data_dir).start()
    yield server
    server.stop()


@pytest.fixture
def unmined_apps(browser, unmined_server):
    """`apps` on `unmined_server`: no request leaves its origin."""
    log = RequestLog(unmined_server.url)
    opened = Apps(browser, unmined_server, log)
    yield opened
    opened.close()
    assert log.foreign() == [], f"requests left the serving origin: {log.foreign()}"
