"""On mainnet the page says, before anything else, that real bitcoin moves."""

import pytest

from tests.conftest import ServerProcess


@pytest.fixture
def mainnet_server(tmp_path):
    server = ServerProcess("--network", "mainnet", "--allow-mainnet", "--peer-host", "127.0.0.1",
                           data_dir=tmp_path / "unused").start()
    yield server
    server.stop()


def test_mainnet_shows_a_loud_warning(page, mainnet_server):
    page.goto(mainnet_server.url + "/")
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert page.is_visible("#mainnet-warning")
    assert "real bitcoin" in page.text_content("#mainnet-warning")
    assert page.text_content("#network-badge").strip() == "mainnet"


def test_regtest_shows_no_mainnet_warning(app_page):
    assert app_page.is_hidden("#mainnet-warning")
