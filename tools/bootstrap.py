"""First-run set-up shared by serve.py and tools/test.py (standard library only).

Makes `.venv` with the dependencies from pyproject.toml, vendors the browser
runtime, packs the app, then re-runs the calling script inside `.venv`. Each
step leaves a stamp, so later runs cost a few milliseconds and print nothing.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
DEPS_STAMP = VENV / ".streamium-deps"


class SetupError(Exception):
    """Set-up failed in a way the user can fix; printed as one line."""


def say(message):
    print(f"setup: {message}", file=sys.stderr, flush=True)


def requirements(extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return reqs


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def apt_install(package):
    """Install a Debian package when we may (root, or sudo without a password)."""
    if not shutil.which("apt-get"):
        return False
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        return False
    say(f"installing {package} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    ok = subprocess.run(prefix + ["apt-get", "update", "-qq"], env=env).returncode == 0
    return ok and subprocess.run(prefix + ["apt-get", "install", "-y", "-qq", package], env=env).returncode == 0


def make_venv():
    say(f"creating a virtual environment in {VENV.relative_to(ROOT)}/")
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if not (apt_install(f"{version}-venv") or apt_install("python3-venv")):
            raise SetupError("cannot create a virtual environment: install python3-venv "
                             "(sudo apt-get install python3-venv) and run again")
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode != 0:
            raise SetupError("cannot create a virtual environment in .venv/")


def installed_requirements():
    """The requirement lines already installed into .venv (serve.py's and the tests' add up)."""
    try:
        return set(json.loads(DEPS_STAMP.read_text()))
    except (OSError, ValueError):
        return set()


def install_requirements(reqs):
    installed = installed_requirements()
    if set(reqs) <= installed:
        return
    say("installing Python packages: " + ", ".join(r.split("=")[0].split(">")[0] for r in reqs))
    done = subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", *reqs])
    if done.returncode != 0:
        raise SetupError("pip could not install the Python packages above (is PyPI reachable?)")
    DEPS_STAMP.write_text(json.dumps(sorted(installed | set(reqs))) + "\n")


def vendor_runtime():
    sys.path.insert(0, str(ROOT / "tools"))
    import offline
    import pack_app
    import snapshot
    import vendor
    try:
        if vendor.vendor(log=lambda m: say(m.removeprefix("vendor: "))):
            say("browser runtime vendored into assets/vendor/")
    except vendor.VendorError as e:
        raise SetupError(f"vendoring failed: {e}")
    pack_app.pack_app()
    snapshot.build_snapshot(log=say)
    snapshot.precompress(log=say)
    offline.write_manifest()


def ensure_environment(extras=(), browser_runtime=True):
    """Set up what is missing; re-exec the current script inside .venv if needed. Programs that
    serve no page (paywall.py, pay.py) need no browser runtime."""
    try:
        if not VENV_PYTHON.exists():
            make_venv()
        install_requirements(requirements(extras))
        if not in_venv():  # the rest of the set-up needs the packages just installed (brotli)
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        if browser_runtime:
            vendor_runtime()
    except SetupError as e:
        print(f"setup: error: {e}", file=sys.stderr)
        sys.exit(1)
