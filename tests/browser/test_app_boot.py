"""The app boots in Chromium from serve.py, on the vendored runtime alone."""

import hashlib
from pathlib import Path

import pytest
from embit.ec import PublicKey, Signature

from tests.browser.pyodide import run_python

ROOT = Path(__file__).resolve().parent.parent.parent


def test_page_boots_to_the_home_screen_and_sets_app_ready(app_page):
    assert app_page.is_visible("#screen-home")
    assert app_page.is_hidden("#loading")
    assert app_page.is_hidden("#startup-error")
    assert app_page.is_visible("[data-testid=home-broadcast]")
    assert app_page.is_visible("[data-testid=home-watch-input]")
    assert app_page.text_content("#network-badge").strip() == "regtest devnet"


def test_every_request_goes_to_the_serving_origin(app_page, request_log):
    app_page.click("[data-testid=home-broadcast]")
    app_page.wait_for_selector("#screen-broadcast:not([hidden])")
    app_page.goto(request_log.origin + "/#/")
    app_page.wait_for_selector("body[data-app-ready=true]")
    assert any(url.endswith("pyodide.asm.wasm") for url in request_log.urls)
    assert any(url.endswith("/config.json") for url in request_log.urls)
    assert request_log.foreign() == []


def test_python_in_the_page_signs_with_embit_and_cpython_verifies(app_page):
    message = b"streamium: signed in the browser"
    out = run_python(app_page, f'''
import hashlib
import os
from embit.ec import PrivateKey
key = PrivateKey(os.urandom(32))
sig = key.sign(hashlib.sha256({message!r}).digest())
result = {{"pubkey": key.get_public_key().serialize().hex(), "sig": sig.serialize().hex()}}
''')
    pubkey = PublicKey.parse(bytes.fromhex(out["pubkey"]))
    signature = Signature.parse(bytes.fromhex(out["sig"]))
    assert pubkey.verify(signature, hashlib.sha256(message).digest())


def test_a_startup_failure_is_shown_on_the_page(page, live_server):
    page.route("**/config.json", lambda route: route.fulfill(status=200, body="{not json"))
    page.goto(live_server.url + "/")
    page.wait_for_selector("#startup-error:not([hidden])", timeout=90_000)
    assert "config.json is not valid JSON" in page.text_content("[data-testid=error]")
    assert page.get_attribute("body", "data-app-ready") is None
    assert page.is_hidden("#loading")


def test_python_starts_from_the_snapshot_with_its_own_random_seed(app_page, live_server):
    if not (ROOT / "assets" / "build" / "pyodide.snapshot.0").exists():
        pytest.skip("no Pyodide snapshot (tools/snapshot.py needs node)")
    assert app_page.evaluate("globalThis.streamiumPyodideStart") == "snapshot"
    precompiled = run_python(app_page, "import _frozen_importlib_external as e\n"
                                       "result = e.SourceLoader.source_to_code.__name__")
    assert precompiled == "cached_source_to_code"
    draw = "import random\nresult = random.getrandbits(64)"
    first = run_python(app_page, draw)
    app_page.goto(live_server.url + "/")
    app_page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert run_python(app_page, draw) != first


def test_without_a_snapshot_python_boots_from_scratch(page, live_server):
    page.route("**/pyodide.snapshot.1", lambda route: route.fulfill(status=404, body="Not found"))
    page.goto(live_server.url + "/")
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert page.evaluate("globalThis.streamiumPyodideStart") == "scratch"
    assert page.is_visible("#screen-home")
