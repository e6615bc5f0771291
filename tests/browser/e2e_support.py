"""Helpers for the two-browser end-to-end tests: a broadcaster and viewers on live_server."""

import contextlib
import json
import os
import time
import urllib.request
from pathlib import Path

from embit import script
from embit.ec import PrivateKey
from embit.networks import NETWORKS
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import RequestLog, ServerProcess

# Short terms so a whole channel fits in a test (protocol §8 allows it on a devnet).
FAST_TERMS = {"bc-pay-interval": 2, "bc-prepay": 4, "bc-grace": 4, "bc-lock": 3600, "bc-min-deposit": 3000}


@contextlib.contextmanager
def other_server(tmp_path, *args):
    """serve.py with these arguments, an external signalling host and no devnet data of its own."""
    server = ServerProcess(*args, "--peer-host", "127.0.0.1", data_dir=tmp_path / "unused").start()
    try:
        yield server
    finally:
        server.stop()


def open_app(page, server):
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    return page


def regtest_address():
    key = PrivateKey(os.urandom(32))
    return script.p2wpkh(key.get_public_key()).address(NETWORKS["regtest"])


def api(server, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(server.url + "/api" + path, data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


def post_tx(server, tx_hex):
    """POST /api/tx as any wallet would: the raw hex as the body; returns the txid."""
    request = urllib.request.Request(server.url + "/api/tx", data=tx_hex.encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def wait_until(check, timeout=30, interval=0.5, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def confirmed_tx(server, txid, timeout=30):
    """The transaction once the devnet has it in a block (mining one if needed)."""
    def status():
        return api(server, f"/tx/{txid}/status").get("confirmed")
    try:
        wait_until(status, timeout=timeout / 2, what=f"{txid} confirmed")
    except AssertionError:
        api(server, "/devnet/mine", {"blocks": 1})
        wait_until(status, timeout=timeout / 2, what=f"{txid} confirmed")
    return api(server, f"/tx/{txid}")


def outputs_by_address(tx):
    return {out.get("scriptpubkey_address"): out["value"] for out in tx["vout"]}


def channel_of(record):
    """The viewer's channel rebuilt in CPython from the page's record (close fee, T2, ...)."""
    from app.channel import Viewer
    return Viewer.from_record(record).channel


def assert_settled_for_time_served(record, paid):
    """v2 §F: the broadcaster of the viewer's `record` settled on `paid`, the amount for the video
    watched (at least the minimum payment) within one pay interval, so that whenever the best
    payment is above the minimum, less than it: the time paid ahead went back."""
    from app.channel import Viewer
    terms = Viewer.from_record(record).offer.terms
    rate, minimum = terms.rate_sat_per_min, terms.min_payment_sat
    assert minimum <= paid <= record["amount"]
    assert abs(paid - max(minimum, rate * record["video_ms"] / 60_000)) <= rate * terms.pay_interval_s / 60 + 1
    if record["amount"] > minimum:
        assert paid < record["amount"], "the time paid ahead was not given back"


class Apps:
    """Opens app pages, each in its own browser context, recording every request."""

    def __init__(self, browser, server, log: RequestLog):
        self.browser, self.server, self.log = browser, server, log
        self.contexts = []

    def open(self, fragment="#/", init_script=None):
        """`init_script`: JavaScript run in the page before the app's own (a browser feature stubbed)."""
        context = self.browser.new_context(viewport={"width": 1100, "height": 900})
        if init_script:
            context.add_init_script(init_script)
        context.on("request", lambda r: self.log.record(r.url))
        self.contexts.append(context)
        page = context.new_page()
        page.on("websocket", lambda ws: self.log.record(ws.url))
        page.goto(self.server.url + "/" + fragment)
        page.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
        return page

    def tab(self, page, fragment="#/"):
        """Another tab in `page`'s browser context: the same localStorage and Web Locks."""
        tab = page.context.new_page()
        tab.on("websocket", lambda ws: self.log.record(ws.url))
        tab.goto(self.server.url + "/" + fragment)
        tab.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
        return tab

    def close(self):
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # noqa: BLE001  (already closed by the test)
                pass


def go_live(page, name, payout, rate=600, terms=FAST_TERMS, source="camera"):
    page.fill("[data-testid=bc-name]", name)
    page.fill("[data-testid=bc-payout]", payout)
    page.fill("[data-testid=bc-rate]", str(rate))
    page.select_option("[data-testid=bc-source]", source)
    page.evaluate("document.getElementById('bc-advanced').open = true")
    for field, value in terms.items():
        page.fill(f"#{field}", str(value))
    page.click("[data-testid=bc-start]")


def go_live_once_the_name_is_free(page, timeout=40):
    """Press Go live again until the server, having seen the name's old socket close, lets it
    through; a press can meet the button hidden while the page tries, so each has a short wait."""
    def live():
        if page.is_visible("[data-testid=share-link]"):
            return True
        try:
            page.click("[data-testid=bc-start]", timeout=1_000)
        except PlaywrightTimeoutError:  # hidden or disabled while the last press is being tried
            pass
        return False
    wait_until(live, timeout=timeout, interval=2, what="the name to be free again")


def share_link(page):
    page.wait_for_selector("[data-testid=share-link]:visible", timeout=30_000)
    return page.get_attribute("[data-testid=share-link]", "href")


def accept_offer(viewer, minutes=5):
    """Viewer at the offer: accept it for `minutes`; returns the funding screen's address and amount."""
    viewer.fill("[data-testid=watch-minutes]", str(minutes))
    viewer.dispatch_event("[data-testid=watch-minutes]", "input")
    viewer.click("#w-accept")
    viewer.wait_for_selector("[data-testid=funding-address]:visible")
    return viewer.text_content("[data-testid=funding-address]"), int(viewer.text_content("[data-testid=funding-amount]"))


def open_and_fund(viewer, link, minutes=5):
    """Viewer: follow the link, accept the offer for `minutes`, fund from the faucet."""
    viewer.goto(link)
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    address, amount = accept_offer(viewer, minutes)
    viewer.click("[data-testid=faucet]")
    return address, amount


def at_the_offer(apps, name, rate=1200, payout=None):
    """A broadcaster live under `name` and a viewer of its link looking at the offer."""
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, name, payout or regtest_address(), rate=rate)
    viewer = apps.open()
    viewer.goto(share_link(broadcaster))
    viewer.wait_for_selector("#w-offer:visible", timeout=30_000)
    return broadcaster, viewer


def watching(apps, name, past=3, **terms):
    """A broadcaster live under `name` and a viewer that funded from the faucet and sees video."""
    broadcaster = apps.open("#/broadcast")
    go_live(broadcaster, name, regtest_address(), rate=1200, **terms)
    viewer = apps.open()
    open_and_fund(viewer, share_link(broadcaster))
    wait_watching(viewer, past=past)
    return broadcaster, viewer


def wait_watching(viewer, timeout=40_000, past=1):
    viewer.wait_for_function(
        "(past) => { const v = document.querySelector('[data-testid=remote-video]');"
        " return v && v.videoWidth > 0 && v.currentTime > past; }", arg=past, timeout=timeout)


def state(page):
    return page.get_attribute("[data-testid=channel-state]", "data-state")


def viewer_record(page):
    """The record of the channel the page's share link shows (`viewer-now:` names its K1)."""
    return page.evaluate("""() => { for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (!k.startsWith('streamium:viewer-now:')) continue;
        const base = 'streamium:viewer:' + k.slice('streamium:viewer-now:'.length);
        return JSON.parse(localStorage.getItem(base + ':' + JSON.parse(localStorage.getItem(k)))); }
        return null; }""")


def kept_receipts(page, role):
    """The receipts of `role` this browser keeps (app/ui/receipt_view.py), oldest first."""
    return page.evaluate("""(role) => Object.keys(localStorage).sort()
        .filter(k => k.startsWith('streamium:receipt:' + role + ':'))
        .map(k => JSON.parse(localStorage.getItem(k)))""", role)


def downloaded(page, selector):
    """Click the download link `selector`: the name and the text of the file the browser saves."""
    with page.expect_download() as started:
        page.click(selector)
    saved = started.value
    return saved.suggested_filename, Path(saved.path()).read_text()


PRINTOUT_JS = """(selector) => ({
    shown: document.querySelector(selector).innerText,
    outside: [...document.body.querySelectorAll('*')]
        .filter(e => !e.closest(selector) && getComputedStyle(e).visibility !== 'hidden' && e.getClientRects().length)
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')),
})"""


def printout(page, selector):
    """With CSS print media emulated: the text `selector` shows, and every element shown outside it."""
    page.emulate_media(media="print")
    try:
        return page.evaluate(PRINTOUT_JS, selector)
    finally:
        page.emulate_media(media="null")


STRANGER_JS = """async ({target, port, messages}) => {
    const peer = new Peer({host: location.hostname, port, path: '/peerjs', key: 'peerjs',
                           config: {iceServers: []}, debug: 0});
    await new Promise((ok, no) => { peer.on('open', ok); peer.on('error', no); });
    const conn = peer.connect(target, {serialization: 'json', reliable: true});
    const replies = [];
    conn.on('data', data => replies.push(data));
    await new Promise((ok, no) => { conn.on('open', ok); conn.on('error', no); });
    for (const message of messages) { conn.send(message); await new Promise(r => setTimeout(r, 300)); }
    await new Promise(r => setTimeout(r, 1500));
    peer.destroy();
    return replies;
}"""


def as_stranger(page, target, messages, port):
    """Connect to the broadcaster `target` with the page's own PeerJS client and send `messages`;
    returns what came back."""
    return page.evaluate(STRANGER_JS, {"target": target, "port": port, "messages": messages})


def playing_time(page):
    return page.evaluate("document.querySelector('[data-testid=remote-video]').currentTime")
