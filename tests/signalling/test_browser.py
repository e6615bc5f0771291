"""Two Chromium pages with the vendored peerjs 1.5.5 client connect through a signalling server.

The same test body runs through our server (mounted at /peerjs by serve.py) and
through the official ``peer`` 1.0.2: a data connection carries messages both
ways, then a media call delivers the fake camera to the callee's <video>.
The pages always come from serve.py's origin; only the signalling differs.
"""

from __future__ import annotations

import pytest

# Any real document of serve.py's origin will do; set_content then rewrites it in
# place.  (A page faked with route.fulfill has no address space, and Chromium's
# Local Network Access checks would then block its WebSocket to 127.0.0.1.)
BLANK = "/config.json"
HTML = """<!doctype html><meta charset="utf-8"><title>signalling test</title>
<video id="remote" autoplay muted playsinline></video>
<script src="/assets/vendor/peerjs/peerjs.min.js"></script>"""

# Each page function rejects after a deadline instead of hanging the test.
WITH_DEADLINE = """() => {
window.withDeadline = (promise, what, ms = 20000) => Promise.race([promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error('timed out: ' + what)), ms))]);
window.opened = (peer) => withDeadline(new Promise((resolve, reject) => {
  peer.on('open', resolve);
  peer.on('error', (e) => reject(new Error(e.type + ': ' + e.message)));
}), 'peer open');
}"""

CALLEE = """async (options) => {
  const peer = new Peer(options);  // no id: the server hands one out via GET /<key>/id
  window.received = [];
  peer.on('connection', (conn) => {
    conn.on('open', () => conn.send('hello from callee'));
    conn.on('data', (d) => { window.received.push(d); conn.send('pong:' + d); });
  });
  peer.on('call', (call) => {
    call.answer();
    call.on('stream', (stream) => {
      const video = document.getElementById('remote');
      video.srcObject = stream;
      video.play().catch(() => {});
    });
  });
  return await opened(peer);
}"""

CALLER = """async ({options, target}) => {
  const peer = new Peer('caller-' + Math.random().toString(36).slice(2), options);
  await opened(peer);
  const conn = peer.connect(target, {reliable: true});
  const got = [];
  const bothReplies = new Promise((resolve) => conn.on('data', (d) => { got.push(d); if (got.length === 2) resolve(); }));
  await withDeadline(new Promise((resolve) => conn.on('open', resolve)), 'data connection open');
  conn.send('ping');
  await withDeadline(bothReplies, 'replies from the callee');
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  window.call = peer.call(target, stream);
  return got.sort();
}"""


@pytest.mark.browser
@pytest.mark.parametrize("server", ["ours", "official"])
def test_data_and_media_through_signalling(server, request, context, live_server):
    if server == "ours":
        port = live_server.port
    else:
        port = request.getfixturevalue("official_peer_server").port
    options = {
        "host": "127.0.0.1", "port": port, "path": "/peerjs", "key": "peerjs",
        "secure": False, "config": {"iceServers": []}, "debug": 1,
    }
    sockets: list[str] = []
    callee, caller = context.new_page(), context.new_page()
    for page in (callee, caller):
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(live_server.url + BLANK)
        page.set_content(HTML)
        page.wait_for_function("() => typeof Peer === 'function'")
        page.evaluate(WITH_DEADLINE)

    callee_id = callee.evaluate(CALLEE, options)
    assert caller.evaluate(CALLER, {"options": options, "target": callee_id}) == ["hello from callee", "pong:ping"]
    assert callee.evaluate("() => window.received") == ["ping"]

    callee.wait_for_function("() => document.getElementById('remote').videoWidth > 0", timeout=30_000)
    track = callee.evaluate("""() => {
      const [track] = document.getElementById('remote').srcObject.getVideoTracks();
      return {kind: track.kind, state: track.readyState};
    }""")
    assert track == {"kind": "video", "state": "live"}

    # Both clients signalled through the chosen server, and only through it.
    assert len(sockets) == 2
    assert all(url.startswith(f"ws://127.0.0.1:{port}/peerjs/peerjs?key=peerjs&id=") for url in sockets)
