"""A return visit needs no network: the first visit leaves a whole copy of the app on the device
(sw.js, assets/build/offline.json), and the next one starts from it offline, saying so."""

import pytest

from tests.browser.e2e_support import wait_until

pytestmark = pytest.mark.browser

COPIED = """async () => { const meta = await caches.open('streamium-meta');
    const version = await meta.match('current'); return version ? version.text() : null; }"""


def test_a_return_visit_starts_offline_from_the_copy_and_says_so(apps):
    page = apps.open("#/")
    assert page.is_hidden("[data-testid=offline-notice]")
    version = wait_until(lambda: page.evaluate(COPIED), timeout=90, what="the offline copy")
    manifest = page.request.get(apps.server.url + "/assets/build/offline.json").json()
    assert version == manifest["version"]
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    assert page.is_visible("[data-testid=offline-notice]")
    assert page.evaluate("navigator.onLine") is False
    page.click("[data-testid=home-broadcast]")  # the app works; what needs the network says so
    page.wait_for_selector("#bc-form:visible")


FROM_THE_NETWORK = """() => Object.fromEntries(performance.getEntriesByType('resource')
    .map((e) => [new URL(e.name).pathname, e.transferSize]))"""


def test_a_return_visit_online_asks_for_none_of_the_runtime_files_and_revalidates_the_rest(apps):
    first = apps.open("#/")
    runtime = first.evaluate("import('./assets/build/runtime.mjs').then((m) => new URL(m.runtime).pathname)")
    again = first.context.new_page()  # the same browser cache, a new visit
    again.goto(apps.server.url + "/#/")
    again.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    sent = again.evaluate(FROM_THE_NETWORK)  # bytes over the network per file; 0: from the cache, unasked
    kept = {path: size for path, size in sent.items() if path.startswith(runtime)}
    assert {runtime + "pyodide.asm.wasm", runtime + "python_stdlib.zip"} <= set(kept)
    assert all(size == 0 for size in kept.values()), kept
    assert sent["/assets/build/app.zip"] > 0  # a fixed name: asked again (a 304 when unchanged)
