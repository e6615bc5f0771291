"""Fixtures for the signalling tests.

``async def`` tests run on a fresh event loop each (no pytest-asyncio needed).
``official_peer_server`` runs the real ``peer`` 1.0.2 from npm, with its
default settings, to check that the browser client works the same against it.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

from tests.signalling.support import official_peer

ASYNC_TEST_TIMEOUT_S = 30


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), ASYNC_TEST_TIMEOUT_S))
    return True


@pytest.fixture(scope="session")
def official_peer_server():
    """The official PeerJS server (npm ``peer`` 1.0.2) at 127.0.0.1:<port>/peerjs."""
    with official_peer() as endpoint:
        yield endpoint
