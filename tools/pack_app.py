"""Pack app/ into assets/build/app.zip, the one file through which PyScript's
[files] puts the app's Python into the browser (unpacked at the site root, so
`import app.channel` works there as in CPython). Run by serve.py at start and by
tools/vendor.py for static hosting; deterministic, rewritten only on change.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vendor import ROOT, write_zip  # noqa: E402

APP = ROOT / "app"
APP_ZIP = ROOT / "assets" / "build" / "app.zip"


def pack_app():
    """Returns True when the zip changed."""
    files = sorted(
        (path.relative_to(ROOT).as_posix(), path.read_bytes())
        for path in APP.rglob("*.py")
        if "__pycache__" not in path.parts)
    return write_zip(APP_ZIP, files)


if __name__ == "__main__":
    print("pack_app: updated" if pack_app() else "pack_app: up to date")
