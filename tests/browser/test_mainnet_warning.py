"""On mainnet the page says, before anything else, that real bitcoin moves."""

import pytest

from tests.browser.e2e_support import open_app, other_server


@pytest.fixture
def mainnet_server(tmp_path):
    with other_server(tmp_path, "--network", "mainnet", "--allow-mainnet") as server:
        yield server


def test_mainnet_shows_a_loud_warning(page, mainnet_server):
    open_app(page, mainnet_server)
    assert page.is_visible("#mainnet-warning")
    assert "real bitcoin" in page.text_content("#mainnet-warning")
    assert page.text_content("#network-badge").strip() == "mainnet"


def test_regtest_shows_no_mainnet_warning(app_page):
    assert app_page.is_hidden("#mainnet-warning")
