#!/usr/bin/env python3
"""Pay HTTP APIs per request over Streamium channels: `python3 pay.py get URL`.

The first run sets up what it needs (the virtual environment in .venv/), as serve.py does;
`python3 pay.py --help` lists the commands. docs/http-payments.md is the protocol.
"""

import sys

from tools.bootstrap import ensure_environment

if __name__ == "__main__":
    ensure_environment(browser_runtime=False)
    from streamium_pay.cli import main

    sys.exit(main())
