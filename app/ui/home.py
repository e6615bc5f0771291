"""The home screen's one question to the chain service: is it reachable? Broadcasting and
watching both need it, so a newcomer hears that it is down, and can try again, before
anything else fails with a technical error."""

import asyncio

from app.esplora import ChainApiError
from app.ui import chain
from app.ui.dom import by_id, on, set_text, show


async def check(config):
    button = by_id("home-chain-retry")
    button.disabled = True
    set_text("home-chain-text", "Checking the chain service…")
    try:
        await chain.esplora(config, attempts=1).tip_height()
    except ChainApiError as failure:
        set_text("home-chain-text", f"The chain service at {config.esplora} cannot be reached right now "
                 f"({failure}). Broadcasting and watching need it to see payments: check the connection, "
                 "then try again.")
        show("home-chain")
    else:
        show("home-chain", False)
    button.disabled = False


def start(config):
    on(by_id("home-chain-retry"), "click", lambda *_: asyncio.ensure_future(check(config)))
    asyncio.ensure_future(check(config))
