"""A thin bridge to the vendored PeerJS client (global `Peer`): data connections carry
JSON text to the channel core, media calls carry the video.

Received data is re-serialised with JSON.stringify, so the core sees the text and
its 8 KiB limit applies; nothing here interprets peer data.
"""

import asyncio
import json
import unicodedata

import js
from pyodide.ffi import create_proxy
from pyscript import window

from app.ui.dom import js_object

PREFIX = "streamium-"
MAX_ID = 60


class PeerLinkError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def peer_id(stream_name):
    """A PeerJS-safe id for a stream name: letters, digits, single dashes, prefixed."""
    out, dash = [], False
    plain = unicodedata.normalize("NFKD", stream_name).encode("ascii", "ignore").decode()
    for ch in plain.strip().lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    slug = "".join(out).strip("-")[:MAX_ID].strip("-")
    return PREFIX + slug if slug else None


def peer_options(config):
    loc = window.location
    options = config.peer.resolve(loc.hostname, loc.port, loc.protocol)
    options["config"] = {"iceServers": list(config.ice_servers)}
    options["debug"] = 0
    return options


class _Events:
    def __init__(self):
        self._proxies = []

    def _on(self, target, event, handler):
        proxy = create_proxy(handler)
        self._proxies.append(proxy)
        target.on(event, proxy)


class Connection(_Events):
    """One PeerJS DataConnection (JSON serialisation)."""

    def __init__(self, conn):
        super().__init__()
        self.conn = conn
        self.peer = str(conn.peer)
        self.closed = False
        self.on_open = self.on_data = self.on_close = None
        self._on(conn, "open", lambda *_: self.on_open and self.on_open())
        self._on(conn, "data", self._data)
        self._on(conn, "close", self._close)
        self._on(conn, "error", lambda *_: self._close())

    def _data(self, data, *_):
        if self.on_data:
            text = js.JSON.stringify(data)
            self.on_data(text if isinstance(text, str) else "null")

    def _close(self, *_):
        if not self.closed:
            self.closed = True
            if self.on_close:
                self.on_close()

    @property
    def open(self):
        return not self.closed and bool(self.conn.open)

    def send(self, message):
        if self.open:
            self.conn.send(js.JSON.parse(json.dumps(message)))

    def close(self):
        try:
            self.conn.close()
        finally:
            self._close()


class PeerLink(_Events):
    """A PeerJS peer on our signalling server; `peer_id=None` lets the server pick one."""

    def __init__(self, config, peer_id=None):
        super().__init__()
        options = js_object(peer_options(config))
        self.peer = js.Peer.new(peer_id, options) if peer_id else js.Peer.new(options)
        self.id = peer_id
        self.on_connection = self.on_call = self.on_error = None
        self._opened = asyncio.get_event_loop().create_future()
        self._on(self.peer, "open", self._open)
        self._on(self.peer, "error", self._error)
        self._on(self.peer, "connection", lambda conn, *_: self.on_connection and self.on_connection(Connection(conn)))
        self._on(self.peer, "call", lambda call, *_: self.on_call and self.on_call(call))

    def _open(self, peer_id, *_):
        self.id = str(peer_id)
        if not self._opened.done():
            self._opened.set_result(self.id)

    def _error(self, err, *_):
        kind, message = str(getattr(err, "type", "error")), str(getattr(err, "message", err))
        if not self._opened.done():
            self._opened.set_exception(PeerLinkError(kind, message))
        elif self.on_error:
            self.on_error(kind, message)

    async def open(self, timeout=20):
        return await asyncio.wait_for(self._opened, timeout)

    def connect(self, target):
        return Connection(self.peer.connect(target, js_object({"serialization": "json", "reliable": True})))

    def call(self, target, stream):
        return self.peer.call(target, stream)

    def destroy(self):
        try:
            self.peer.destroy()
        except Exception:  # noqa: BLE001  (already gone)
            pass
