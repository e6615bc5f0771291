"""Fixtures for the app's end-to-end tests."""

import pytest

from tests.browser.e2e_support import Apps


@pytest.fixture
def apps(browser, page, live_server, request_log):
    """Pages of the app in separate browser contexts, every request recorded by `request_log`."""
    opened = Apps(browser, live_server, request_log)
    yield opened
    opened.close()
