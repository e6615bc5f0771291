"""One page per channel (protocol v2 §D), with the Web Locks API: a page holds a lock named
after its broadcast or share link for as long as it lives. A second tab finds it taken and
says so; it may take over, which ends the first tab's hold (that tab then stops acting)."""

import asyncio

import js
from pyodide.ffi import create_proxy
from pyscript.ffi import is_none

from app.ui.dom import js_object, set_text, show


class TabLock:
    def __init__(self, name):
        self.name = name
        self.on_lost = None  # called when another tab took the lock over
        self._proxies = []

    @staticmethod
    def available():
        return not is_none(getattr(js.navigator, "locks", None))

    async def acquire(self, take_over=False):
        """True once this tab holds the lock; False when another tab holds it (and not `take_over`)."""
        if not self.available():
            return True  # a browser without Web Locks: nothing to guard with
        decided = asyncio.get_event_loop().create_future()

        def granted(lock, *_):
            if is_none(lock):
                decided.set_result(False)
                return None
            decided.set_result(True)
            return js.Promise.new(self._proxy(lambda resolve, reject: None))  # held for the page's life

        options = {"steal": True} if take_over else {"ifAvailable": True}
        request = js.navigator.locks.request(self.name, js_object(options), self._proxy(granted))
        request.catch(self._proxy(lambda error, *_: self._lost()))
        return await decided

    def _lost(self):
        if self.on_lost:
            self.on_lost()

    def _proxy(self, fn):
        proxy = create_proxy(fn)
        self._proxies.append(proxy)
        return proxy


def show_elsewhere(prefix, thing, taken_over):
    """The notice of a tab that does not hold the lock: `<prefix>-elsewhere` with its take-over button."""
    set_text(f"{prefix}-elsewhere-text", f"This {thing} was taken over by another tab of this browser: use that tab."
             if taken_over else f"This {thing} is open in another tab of this browser. Only one tab may drive it, "
             "so that two tabs never pay, settle or sign from copies of the same channel.")
    show(f"{prefix}-elsewhere")
    show(f"{prefix}-take-over", not taken_over)
