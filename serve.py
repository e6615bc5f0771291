#!/usr/bin/env python3
"""Serve Streamium on this machine: `python3 serve.py`, then open http://127.0.0.1:8000.

The first run sets up what serving needs (a virtual environment in .venv/, the
vendored browser runtime); `python3 serve.py --help` lists the flags.
"""

import sys

from tools.bootstrap import ensure_environment

if __name__ == "__main__":
    ensure_environment()
    from streamium_server.cli import main

    sys.exit(main())
