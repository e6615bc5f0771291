"""The viewer's video: answer the broadcaster's media call, and measure what really plays
(the core pays only for video received)."""

from pyodide.ffi import create_proxy
from pyscript.ffi import is_none

from app.ui.dom import by_id, show

MAX_STEP_S = 5  # a jump of currentTime larger than this is a seek or a stall, not video received


class Video:
    def __init__(self):
        self.last_time = None

    def answer(self, call):
        """Show the broadcaster's stream; start muted if the browser blocks sound without a click."""
        call.answer()
        element = by_id("remote-video")

        def stream(remote, *_):
            element.srcObject = remote
            self.last_time = None
            element.muted = False

            def blocked(*_):
                element.muted = True
                element.play()
                show("w-unmute-box")

            element.play().catch(create_proxy(blocked))

        call.on("stream", create_proxy(stream))

    def stop(self):
        element = by_id("remote-video")
        element.pause()
        element.srcObject = None
        self.last_time = None

    def unmute(self):
        by_id("remote-video").muted = False
        show("w-unmute-box", False)

    def played(self):
        """Seconds of video that played since the last call (0 while nothing plays)."""
        element = by_id("remote-video")
        if is_none(element.srcObject) or element.paused or element.readyState < 2:
            self.last_time = None
            return 0
        current, delta = float(element.currentTime), 0
        if self.last_time is not None and 0 < current - self.last_time <= MAX_STEP_S:
            delta = current - self.last_time
        self.last_time = current
        return delta
