"""Start-up: say what is loading, read /config.json, show the first screen.

Any failure here is shown on the page in plain words (details folded away), and
`<body data-app-ready="true">` is set only once the app can be used.
"""

import asyncio
import json
import traceback

from pyscript import document, fetch

from app.config import ConfigError, parse_client_config
from app.ui import home, router, secp256k1_wasm
from app.ui.dom import by_id, set_text, show


BACKGROUND = set()  # tasks started at boot, kept referenced so they are not collected


def loading(message):
    set_text("loading-text", message)


async def paint():
    """Yield to the browser so a status message is drawn before slow work."""
    await asyncio.sleep(0)


async def load_config():
    """The config, and whether it came from the offline copy (sw.js: no network now)."""
    response = await fetch("./config.json", cache="no-cache")
    if not response.ok:
        raise ConfigError(f"config.json could not be loaded (HTTP {response.status})")
    try:
        config = parse_client_config(json.loads(await response.text()))
    except json.JSONDecodeError:
        raise ConfigError("config.json is not valid JSON")
    return config, response.headers.get("x-streamium-offline") == "1"


def show_offline():
    """Started from this device's copy with no network: say what works and what does not."""
    show("offline-notice")


def show_network(config):
    badge = by_id("network-badge")
    badge.textContent = config.network + (" devnet" if config.devnet else "")
    badge.classList.toggle("mainnet", config.mainnet)
    show("network-badge")
    show("mainnet-warning", config.mainnet)


def show_startup_error(error):
    show("loading", False)
    box = by_id("startup-error")
    message = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
    box.querySelector("[data-role=message]").textContent = message
    box.querySelector("[data-role=details]").textContent = traceback.format_exc()
    show("startup-error")


async def start():
    try:
        loading("Loading wallet library…")
        await paint()
        import embit.ec  # noqa: F401  (the signing library: the slowest import)

        loading("Loading configuration…")
        config, offline = await load_config()
        show_network(config)
        if offline:
            show_offline()
        router.start(config)
        home.start(config)
        show("loading", False)
        document.body.setAttribute("data-app-ready", "true")
        BACKGROUND.add(asyncio.ensure_future(secp256k1_wasm.install()))
    except Exception as error:  # noqa: BLE001  (shown to the user, not swallowed)
        show_startup_error(error)
