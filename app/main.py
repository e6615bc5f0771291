"""Browser entry point, run by PyScript: start the UI (start-up failures are shown on the page)."""

import asyncio

from app.ui.boot import start

asyncio.ensure_future(start())
