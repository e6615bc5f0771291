#!/usr/bin/env python3
"""Run the whole test suite: `python3 tools/test.py [pytest arguments]`.

The first run sets up what the tests need: .venv with the test extra, the
vendored runtime, and Debian's Chromium, Janus and iproute2 (with apt-get). Playwright never
downloads a browser. No tests collected counts as a failure.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.bootstrap import ROOT, apt_install, ensure_environment, say  # noqa: E402


def ensure_debian_package(package, why, command=None):
    if shutil.which(command or package):
        return
    if not apt_install(package):
        say(f"error: Debian's {package} ({why}) is missing and could not be installed: "
            f"run `sudo apt-get install -y {package}` and try again")
        sys.exit(1)


def main():
    ensure_environment(extras=("test",))
    ensure_debian_package("chromium", "the browser the tests drive")
    ensure_debian_package("janus", "the media relay of serve.py --sfu janus")
    ensure_debian_package("iproute2", "the network namespace the relay's tests run Janus in", command="ip")
    import pytest

    code = pytest.main(["--rootdir", str(ROOT), *sys.argv[1:]])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("test.py: no tests were collected: that is a failure", file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
