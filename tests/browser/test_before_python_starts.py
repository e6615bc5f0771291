"""Before Python runs, on a slow link: the page counts the parts of the download that have
arrived and names those it waits for (two fewer without the snapshot), and a share link's
stream and broadcaster fingerprint are shown at once, as text."""

import pytest

from app.channel import build_link
from app.receipts import fingerprint

pytestmark = pytest.mark.browser

# Every text and value the loading section shows, in order, from before the page's own scripts.
RECORD = """
window.__shown = [];
new MutationObserver(() => {
  const text = document.getElementById("loading-text"), bar = document.getElementById("loading-progress");
  if (!text || !bar) return;
  const last = window.__shown[window.__shown.length - 1];
  const offer = document.getElementById("loading-offer");
  const now = {text: text.textContent, value: bar.hasAttribute("value") ? bar.value : null, max: bar.max,
               offer: offer.hidden ? null : offer.textContent, images: document.querySelectorAll("#loading img").length,
               wider: document.documentElement.scrollWidth > innerWidth};
  if (!last || last.text !== now.text || last.value !== now.value || last.offer !== now.offer)
    window.__shown.push(now);
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def shown_while_starting(browser, url, no_snapshot=None, fragment=""):
    """`no_snapshot`: "failed" (its requests fail) or "missing" (404, as on a host without Node)."""
    context = browser.new_context(service_workers="block", viewport={"width": 390, "height": 800})  # a phone
    if no_snapshot:
        context.route("**/pyodide.snapshot.*", lambda route: route.abort() if no_snapshot == "failed"
                      else route.fulfill(status=404, body="not found"))
    context.add_init_script(RECORD)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {  # 20 Mbit/s, 40 ms: seconds of downloading
        "offline": False, "latency": 40, "downloadThroughput": 20e6 / 8, "uploadThroughput": 20e6 / 8})
    page.goto(url + "/" + fragment)
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    shown = page.evaluate("window.__shown")
    context.close()
    return shown


def counted(shown):
    return [s for s in shown if s["text"].startswith("Downloading Python and the app:")]


def test_a_first_visit_on_a_slow_link_counts_the_parts_as_they_arrive(browser, live_server):
    shown = shown_while_starting(browser, live_server.url)
    downloads = counted(shown)
    assert downloads[0]["text"].startswith("Downloading Python and the app: 0 of 6 parts (waiting for the "
                                           "Python runtime, Python's prepared memory, 1 of 2")
    values = [s["value"] for s in downloads]
    assert values == sorted(values) and len(set(values)) > 1 and all(s["max"] == 6 for s in downloads)
    texts = [s["text"] for s in shown]
    assert texts.index("Starting Python…") > texts.index(downloads[-1]["text"])
    assert "Starting the app…" in texts
    assert shown[texts.index("Starting the app…")]["value"] is None  # nothing left to count
    assert all(s["offer"] is None for s in shown), "no share link, no stream named"
    assert not any(s["wider"] for s in shown), "the long status wraps on a phone"


@pytest.mark.parametrize("no_snapshot", ["failed", "missing"])
def test_without_the_snapshot_there_are_two_parts_fewer_to_wait_for(browser, live_server, no_snapshot):
    downloads = counted(shown_while_starting(browser, live_server.url, no_snapshot=no_snapshot))
    assert downloads[-1]["max"] == 4 and "prepared memory" not in downloads[-1]["text"]
    assert all(s["value"] <= 4 for s in downloads)


def test_a_share_link_shows_its_stream_and_fingerprint_before_python_runs(browser, live_server):
    identity = "03" + "9f" * 32
    name = 'Café <img src=x onerror="document.title=1"> #1\u202e'  # markup, and a right-to-left override
    link = build_link(live_server.url, name, identity)
    shown = shown_while_starting(browser, live_server.url, fragment=link[link.index("#"):])
    downloading = [s for s in counted(shown) if s["value"] == 0]
    assert downloading and downloading[0]["offer"] == (
        f"Opening {name[:-1]}Broadcaster's fingerprint: {fingerprint(identity)}"
        "Its price comes from the broadcaster once the app has started.")  # the lines, as textContent
    assert all(s["images"] == 0 for s in shown), "the name is text, never markup"
    assert not any(s["wider"] for s in shown), "the name and the fingerprint wrap on a phone"
