"""paywall.py: a reverse proxy (or aiohttp middleware) that charges per request over Streamium
payment channels, as docs/http-payments.md specifies."""
