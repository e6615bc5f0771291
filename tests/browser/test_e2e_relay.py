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
from tests.browser.e2e_support import (FAST_TERMS, Apps, go_live, open_and_fund, regtest_address, share_link,
                                       wait_until, wait_watching)
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
    if os.geteuid() != 0:
        pytest.skip("the relay's tests make a network namespace: they need root (CI runs as root)")
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


def relayed_broadcast(apps, key, name, viewers, grace=FAST_TERMS["bc-grace"]):
    """A broadcaster live through the relay, and `viewers` paying viewers watching."""
    broadcaster = apps.open("#/broadcast", init_script=PROBE)
    broadcaster.fill("[data-testid=bc-relay-key]", key)
    go_live(broadcaster, name, regtest_address(), rate=1200, terms={**FAST_TERMS, "bc-grace": grace})
    link, watching = share_link(broadcaster), []
    for _ in range(viewers):
        viewer = apps.open(init_script=PROBE)
        open_and_fund(viewer, link)
        watching.append(viewer)
    for viewer in watching:
        wait_watching(viewer, timeout=60_000, past=2)
    return broadcaster, watching


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
    broadcaster, viewers = relayed_broadcast(*relay_apps, "Relayed show", 3)
    for viewer in viewers:
        assert frames(viewer) > 0

    assert broadcaster.text_content("[data-testid=bc-media-mode]").startswith("Video: one stream to the relay at ws://")
    sent = broadcaster.evaluate(VIDEO_STATS, "outbound-rtp")
    assert len(sent) == 1, f"the broadcaster sends one video stream for three viewers, not {len(sent)}"
    time.sleep(2)
    assert broadcaster.evaluate(VIDEO_STATS, "outbound-rtp")[0] > sent[0]

    cut, *paying = viewers
    admission = next(m for m in cut.evaluate("window.__received") if m.get("type") == "relay")
    cut.evaluate("window.__dropPay = true")
    paid_until = max(m["paid_until"] for m in cut.evaluate("window.__received") if m.get("type") == "pay_ack")
    grace = FAST_TERMS["bc-grace"]
    stopped = frames_stop(cut, paid_until + grace + 15)
    assert stopped is not None, "the viewer that stopped paying still gets video"
    assert stopped <= paid_until + grace + 5
    for viewer in paying:
        before = frames(viewer)
        time.sleep(1.5)
        assert frames(viewer) > before, "the viewers still paying still get video"

    # its token, copied to another page, lets nobody in; nor does no token
    stranger = relay_apps[0].open()
    for token in (admission["token"], "00" * 16):
        refused = stranger.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
            "request": "join", "ptype": "publisher", "room": admission["room"], "token": token}})
        assert refused.get("error_code") == 433, refused
    refused = stranger.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
        "request": "join", "ptype": "subscriber", "room": admission["room"], "streams": [{"feed": admission["feed"]}]}})
    assert refused.get("error_code"), "no subscription without a member's private id"


def room_exists(page, admission):
    return page.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
        "request": "exists", "room": admission["room"]}})["exists"]


def admissions(page):
    return [m for m in page.evaluate("window.__received") if m.get("type") == "relay"]


def test_reloads_come_back_through_the_relay_and_a_room_is_gone_once_its_broadcast_is(relay_apps):
    broadcaster, (viewer,) = relayed_broadcast(*relay_apps, "Relayed reloads", 1, grace=30)

    viewer.reload()  # a new page: a new admission to the same room
    viewer.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    wait_watching(viewer, timeout=60_000, past=2)
    first = wait_until(lambda: admissions(viewer), what="the viewer's admission after its reload")[0]

    broadcaster.reload()  # live again by itself, through the relay again: a new room, the old one removed
    broadcaster.wait_for_selector("body[data-app-ready=true]", timeout=90_000)
    second = wait_until(lambda: [a for a in admissions(viewer) if a["room"] != first["room"]], timeout=60,
                        what="an admission to the broadcaster's new room")[0]
    before = frames(viewer)
    wait_until(lambda: frames(viewer) > before + 20, timeout=30, what="video from the new room")
    assert len(broadcaster.evaluate(VIDEO_STATS, "outbound-rtp")) == 1, "still one stream, through the relay"
    assert not room_exists(viewer, first)

    broadcaster.click("[data-testid=bc-end]")
    broadcaster.click("[data-testid=bc-end-yes]")
    wait_until(lambda: not room_exists(viewer, second), timeout=60, what="the room removed once the broadcast ended")


def test_a_paying_viewer_whose_video_stops_coming_stops_paying_for_it(relay_apps):
    """The relay stops forwarding to a viewer that still pays (here: its member kicked with the
    broadcaster's room secret, as a failing or hostile relay could): the viewer's clock runs on,
    but its frames stop, and so do its payments."""
    broadcaster, (viewer,) = relayed_broadcast(*relay_apps, "Relay that fails", 1, grace=60)
    admission = wait_until(lambda: admissions(viewer), what="the viewer's admission")[0]
    room_id, secret = json.loads(broadcaster.evaluate("localStorage.getItem('streamium:broadcast-relay-room')"))
    assert room_id == admission["room"]
    kicked = viewer.evaluate(JANUS_JOIN, {"url": admission["url"], "body": {
        "request": "kick", "room": room_id, "secret": secret, "id": admission["member"]}})
    assert kicked["videoroom"] == "success", kicked

    def paid():
        return max([m["amount"] for m in viewer.evaluate("window.__received") if m.get("type") == "pay_ack"])
    time.sleep(5 + 2 + 3)  # FROZEN_S, one pay interval, and a margin: the last payment for video received is out
    before = paid()
    time.sleep(8)  # two prepay windows: a viewer paying by the clock would have paid twice more
    assert paid() == before, "the viewer went on paying for video that no longer came"
    assert viewer.evaluate("document.querySelector('[data-testid=remote-video]').currentTime") > 0
