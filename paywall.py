#!/usr/bin/env python3
"""Charge per request for any HTTP API: `python3 paywall.py --upstream URL --price 'GET /*=10'
--payout ADDRESS`, then clients pay with `python3 pay.py get URL` (docs/http-payments.md).

The first run sets up what it needs, as serve.py does; `python3 paywall.py --help` lists the flags.
"""

import sys

from tools.bootstrap import ensure_environment

if __name__ == "__main__":
    ensure_environment(browser_runtime=False)
    from streamium_paywall.cli import main

    sys.exit(main())
