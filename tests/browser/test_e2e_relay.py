"""End to end through a relay (issue 15): serve.py --sfu janus starts Debian's Janus; the
broadcaster publishes one stream to a room of its own; viewers pay over their data connections as
ever, and each is let into the room after its first accepted payment and cut off when its payments
stop. Janus, serve.py and Chromium run in a network namespace the test makes
(tests/browser/relay_netns.py): Janus sends no media over loopback."""

import json
import os
import time

import pytest

from tests.browser import relay_netns
from tests.browser.e2e_support import Apps, go_live, open_and_fund, regtest_address, share_link, wait_watching
from tests.conftest import RequestLog, ServerProcess, free_port

pytestmark = pytest.mark.browser

NS = f"streamium-relay-{os.getpid()}"

# In every page, before the app: the RTCPeerConnections it makes (PeerJS's and the relay's), what
# the viewer's data connection receives, and a switch that makes the viewer a cheat that stops
# paying: its `pay` messages are dropped before they leave, and the page can close none of its
# connections, so only the relay cutting it off can stop its video.
PROBE = """
window.__pcs = [];
const RealPC = window.RTCPeerConnection;
window.RTCPeerConnection = class extends RealPC {
    constructor(...args) { super(...args); window.__pcs.push(this); }
};
window.__dropPay = false;
for (const kind of [RealPC, WebSocket]) {
    const close = kind.prototype.close;
    kind.prototype.close = function (...args) { if (!window.__dropPay) return close.apply(this, args); };
}
window.__received = [];
let RealPeer;
Object.defineProperty(window, 'Peer', {configurable: true, get() { return RealPeer; }, set(P) {
    const connect = P.prototype.connect;
    P.prototype.connect = function (...args) {
        const conn = connect.apply(this, args);
        const send = conn.send.bind(conn);
        conn.send = (data, ...rest) => (window.__dropPay && data && data.type === 'pay') ? undefined : send(data, ...rest);
        conn.on('data', data => window.__received.push(data));
        return conn;
    };
    RealPeer = P;
}});
"""

# Video RTP packets each open RTCPeerConnection of the page sent or received (what arrives,
# whether or not the page shows it).
VIDEO_STATS = """async (kind) => {
    const found = [];
    for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach(r => {
            if (r.type === kind && r.kind === 'video') found.push(r.packetsReceived ?? r.packetsSent);
        });
    }
    return found;
}"""

JANUS_JOIN = """async ({url, body}) => {
    const ws = new WebSocket(url, 'janus-protocol');
    await new Promise((ok, no) => { ws.onopen = ok; ws.onerror = no; });
    let n = 0;
    const call = (message) => new Promise(ok => {
        const transaction = String(++n);
        const listen = (event) => {
            const reply = JSON.parse(event.data);
            if (reply.transaction === transaction && reply.janus !== 'ack') { ws.removeEventListener('message', listen); ok(reply); }
        };
        ws.addEventListener('message', listen);
        ws.send(JSON.stringify({...message, transaction}));
    });
    const session = (await call({janus: 'create'})).data.id;
    const handle = (await call({janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom'})).data.id;
    const reply = await call({janus: 'message', session_id: session, handle_id: handle, body});
    ws.close();
    return reply.plugindata.data;
}"""


@pytest.fixture(scope="module")
def relay_world(playwright, browser_type_launch_args, tmp_path_factory):
    """serve.py with its devnet and a Janus, and a Chromium, all in the namespace; the relay's key."""
    tmp = tmp_path_factory.mktemp("relay")
    relay_netns.create(NS)
    server = browser = None
    try:
        with relay_netns.inside(NS):
            server = ServerProcess("--block-interval", "0", "--buried", "1", "--sfu", "janus", "--sfu-port",
                                   str(free_port()), "--sfu-interface", relay_netns.INTERFACE,
                                   data_dir=tmp / "data").start()
        browser = playwright.chromium.launch(**{**browser_type_launch_args,
                                                "executable_path": relay_netns.chromium_inside(NS, tmp)})
        key = json.loads((tmp / "data" / "janus" / "secrets.json").read_text())["room_admin_key"]
        assert key in server.output(), "serve.py prints the relay's key for the broadcaster"
        yield server, browser, key
    finally:
        if browser:
            browser.close()
        if server:
            server.stop()
        relay_netns.delete(NS)


@pytest.fixture
def relay_apps(relay_world):
    server, browser, key = relay_world
    opened = Apps(browser, server, RequestLog(server.url))
    with relay_netns.inside(NS):  # the test's own requests (the devnet's API) go where serve.py is
        yield opened, key
    opened.close()


def frames(page):
    return sum(page.evaluate(VIDEO_STATS, "inbound-rtp"))


def frames_stop(page, deadline):
    """The time the viewer's video packets stopped coming (for 2 s), or None by `deadline`."""
    last, since = frames(page), time.time()
    while time.time() < deadline:
        time.sleep(0.5)
        now = frames(page)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= 2:
            return since
    return None


def test_paying_viewers_watch_through_the_relay_and_one_that_stops_paying_is_cut_off(relay_apps):
    apps, key = relay_apps
    broadcaster = apps.open("#/broadcast", init_script=PROBE)
    broadcaster.fill("[data-testid=bc-relay-key]", key)
    go_live(broadcaster, "Relayed show", regtest_address(), rate=1200)
    link = share_link(broadcaster)
    viewers = []
    for _ in range(3):
        viewer = apps.open(init_script=PROBE)
        open_and_fund(viewer, link)
        viewers.append(viewer)
    for viewer in viewers:
        wait_watching(viewer, timeout=60_000, past=2)
        assert frames(viewer) > 0

    sent = broadcaster.evaluate(VIDEO_STATS, "outbound-rtp")
    assert len(sent) == 1, f"the broadcaster sends one video stream for three viewers, not {len(sent)}"
    time.sleep(2)
    assert broadcaster.evaluate(VIDEO_STATS, "outbound-rtp")[0] > sent[0]

    cut, *paying = viewers
    admission = next(m for m in cut.evaluate("window.__received") if m.get("type") == "relay")
    cut.evaluate("window.__dropPay = true")
    paid_until = max(m["paid_until"] for m in cut.evaluate("window.__received") if m.get("type") == "pay_ack")
    grace = 4  # FAST_TERMS' bc-grace
    stopped = frames_stop(cut, paid_until + grace + 15)
    assert stopped is not None, "the viewer that stopped paying still gets video"
    assert stopped <= paid_until + grace + 5
    for viewer in paying:
        before = frames(viewer)
        time.sleep(1.5)
        assert frames(viewer) > before, "the viewers still paying still get video"

    # its token, copied to another page, lets nobody in; nor does no token
    stranger = apps.open()
    for token in (admission["token"], "00" * 16):
        refused = stranger.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
            "request": "join", "ptype": "publisher", "room": admission["room"], "token": token}})
        assert refused.get("error_code") == 433, refused
    refused = stranger.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
        "request": "join", "ptype": "subscriber", "room": admission["room"], "streams": [{"feed": admission["feed"]}]}})
    assert refused.get("error_code"), "no subscription without a member's private id"
