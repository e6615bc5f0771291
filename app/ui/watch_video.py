"""The viewer's video: the broadcaster's media call answered, or its stream taken from the relay
with the admission the broadcaster sent; and what really plays (the core pays only for video
received)."""

import asyncio
import json

from pyodide.ffi import create_proxy
from pyscript.ffi import is_none

from app.relay_room import Admission, RelayError
from app.ui.dom import by_id, show
from app.ui.relay import RelayView

MAX_STEP_S = 5  # a jump of currentTime larger than this is a seek or a stall, not video received
FROZEN_S = 5  # no new frame for this long: the picture is frozen, and time no longer counts as video


def relay_admission(text):
    """The broadcaster's admission to the relay if `text` is one (None if it is a channel message);
    RelayError if it is one and wrong."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") != "relay":
        return None
    return Admission.parse(message)


class Video:
    def __init__(self):
        self.last_time, self.last_frames, self.fresh_at = None, 0, 0.0
        self.relay = None  # the RelayView, while the video comes through the relay

    def answer(self, call):
        """Show the broadcaster's stream from its call."""
        call.answer()
        call.on("stream", create_proxy(lambda remote, *_: self.show(remote)))

    async def from_relay(self, admission, ice_servers):
        """Take the stream from the relay (a new admission replaces the last)."""
        self.stop()
        relay = self.relay = RelayView(admission)
        try:
            await relay.start(ice_servers, self.show)
        except (RelayError, asyncio.TimeoutError) as failure:
            if relay is self.relay:
                self.relay = None
            raise RelayError(f"the video relay did not let this page in: {failure}")

    def show(self, remote):
        """Play `remote`; start muted if the browser blocks sound without a click."""
        element = by_id("remote-video")
        element.srcObject = remote
        self.last_time, self.last_frames = None, 0
        element.muted = False

        def blocked(*_):
            element.muted = True
            element.play()
            show("w-unmute-box")

        element.play().catch(create_proxy(blocked))

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        element = by_id("remote-video")
        element.pause()
        element.srcObject = None
        self.last_time, self.last_frames = None, 0

    def unmute(self):
        by_id("remote-video").muted = False
        show("w-unmute-box", False)

    def played(self):
        """Seconds of video that played since the last call (0 while nothing plays). A live
        stream's clock runs on when its frames stop coming (a relay that stopped forwarding, a
        stalled link), so time counts only while a new frame was shown in the last FROZEN_S. A
        still screen being shared is not frozen: WebRTC sends its last frame again every second
        (libwebrtc's frame cadence adapter, "zero-hertz" mode)."""
        element = by_id("remote-video")
        if is_none(element.srcObject) or element.paused or element.readyState < 2:
            self.last_time, self.last_frames = None, 0
            return 0
        current, delta = float(element.currentTime), 0
        frames = int(element.getVideoPlaybackQuality().totalVideoFrames)
        if self.last_time is None or frames > self.last_frames:
            self.fresh_at = current
        if (self.last_time is not None and 0 < current - self.last_time <= MAX_STEP_S
                and current - self.fresh_at <= FROZEN_S):
            delta = current - self.last_time
        self.last_time, self.last_frames = current, frames
        return delta
