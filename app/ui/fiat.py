"""Fiat beside sats, where it means something: on mainnet, from the configured chain service's
own prices (mempool.space's `/v1/prices`), asked once per page. Test networks and the devnet
move coins with no price, so they show none; nor does a service without prices."""

from app.esplora import ChainApiError
from app.ui import chain

CURRENCY = "USD"
_asked = {}


async def price(config):
    """BTC's price in CURRENCY, or None."""
    if not config.mainnet:
        return None
    if "price" not in _asked:
        try:
            _asked["price"] = (await chain.esplora(config, attempts=1).prices()).get(CURRENCY)
        except ChainApiError:
            return None  # asked again next time: the service may be back
    return _asked["price"]
