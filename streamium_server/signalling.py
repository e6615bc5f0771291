"""PeerJS signalling server, wire-compatible with the official ``peer`` 1.0.2.

Browsers running the ``peerjs`` 1.5.5 client find each other here: the server
hands out ids, keeps one WebSocket per peer id, and relays the WebRTC offer,
answer and ICE candidates between peers.  Media and data never pass through it.

The behaviour follows ``peer`` 1.0.2 (``npm pack peer@1.0.2``), including the
exact message shapes and error strings, so the client cannot tell the two apart.
It adds the limits a public endpoint needs (id syntax, message size, message
rate, bounded queues) and, unlike peer 1.0.2, tells a client's signalling
partners with ``LEAVE`` when that client goes away; docs/signalling.md lists
every deliberate difference.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

__all__ = ["make_signalling_app", "is_valid_id", "DESCRIPTION"]

#: What ``GET /`` answers, byte-for-byte the official server's description.
DESCRIPTION = {
    "name": "PeerJS Server",
    "description": "A server side element to broker connections between PeerJS clients.",
    "website": "https://peerjs.com/",
}

# Error strings of peer 1.0.2 (src/enums.ts), which the client shows to users.
INVALID_WS_PARAMETERS = "No id, token, or key supplied to websocket server"
INVALID_KEY = "Invalid key provided"
CONNECTION_LIMIT_EXCEED = "Server has reached its concurrent user limit"
# Our own refusals; peer 1.0.2 has no such checks.
INVALID_ID = "Invalid id provided"
MESSAGE_TOO_BIG = "Message too big"
TOO_MANY_MESSAGES = "Too many messages"

# Client message types peer 1.0.2 acts on; everything else is ignored.
_RELAYED = frozenset({"OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE"})
# Relayed but never queued for an absent peer (peer 1.0.2 drops them).
_NOT_QUEUED = frozenset({"LEAVE", "EXPIRE"})
# Relayed types that make sender and receiver signalling partners: each hears
# LEAVE from the other when the other is removed.
_NEGOTIATION = frozenset({"OFFER", "ANSWER", "CANDIDATE"})
# Partners remembered per client; past this the least recently used is forgotten.
MAX_PARTNERS = 256

# The client's util.validateId, minus its "empty is fine" case: an empty id
# means "give me one", which the client resolves through GET /<key>/id.
_ID_RE = re.compile(r"[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*")

# Bookkeeping cost charged per queued message on top of its JSON, so that a
# flood of tiny messages to many ids cannot dodge the byte budget.
_QUEUE_OVERHEAD_BYTES = 256
# How long closing a socket may wait for the peer's close frame.
_CLOSE_TIMEOUT_S = 2.0


def is_valid_id(peer_id: object) -> bool:
    """True for a non-empty id the peerjs client itself would accept."""
    return isinstance(peer_id, str) and _ID_RE.fullmatch(peer_id) is not None


def _dumps(message: dict[str, Any]) -> str:
    """Serialise compactly like JavaScript's JSON.stringify.

    Non-ASCII is escaped (``\\u00fc``): the same JSON to the client, and a lone
    surrogate from a ``"\\udc80"`` escape stays sendable instead of failing UTF-8.
    """
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON; the browser could not parse them back."""
    raise ValueError(f"invalid JSON constant {name}")


@dataclass(eq=False)
class _Client:
    """A registered peer id; its socket is replaced when the owner reconnects."""

    id: str
    token: str
    ws: web.WebSocketResponse
    last_ping: float
    # Ids this client exchanged OFFER/ANSWER/CANDIDATE with, least recent
    # first (a dict keeps insertion order); at most MAX_PARTNERS of them.
    partners: dict[str, None] = field(default_factory=dict)

    def add_partner(self, peer_id: str) -> None:
        """Remember ``peer_id`` as the most recent partner, forgetting the oldest if full."""
        self.partners.pop(peer_id, None)
        self.partners[peer_id] = None
        if len(self.partners) > MAX_PARTNERS:
            del self.partners[next(iter(self.partners))]


@dataclass(eq=False)
class _Queue:
    """Messages waiting for a peer id that is not connected yet."""

    created: float
    messages: list[tuple[dict[str, Any], int]] = field(default_factory=list)


class _Signaller:
    """The state of one signalling app: registered clients and waiting messages."""

    def __init__(
        self,
        *,
        key: str,
        max_clients: int,
        alive_timeout_s: float,
        expire_timeout_s: float,
        max_message_bytes: int,
        max_messages_per_s: float,
        max_queued_per_peer: int,
        max_queued_bytes: int,
        send_timeout_s: float,
        sweep_interval_s: float,
    ) -> None:
        self.key = key
        self.max_clients = max_clients
        self.alive_timeout_s = alive_timeout_s
        self.expire_timeout_s = expire_timeout_s
        self.max_message_bytes = max_message_bytes
        self.max_messages_per_s = max_messages_per_s
        self.max_queued_per_peer = max_queued_per_peer
        self.max_queued_bytes = max_queued_bytes
        self.send_timeout_s = send_timeout_s
        self.sweep_interval_s = sweep_interval_s
        self.clients: dict[str, _Client] = {}
        self.queues: dict[str, _Queue] = {}
        self.queued_bytes = 0
        self._closing: set[asyncio.Task[Any]] = set()

    # -- HTTP ------------------------------------------------------------

    def new_id(self) -> str:
        """A random UUID not currently registered, as peer 1.0.2 hands out."""
        while (peer_id := str(uuid.uuid4())) in self.clients:
            pass
        return peer_id

    # -- WebSocket lifecycle --------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Serve one client socket from handshake to close."""
        ws = web.WebSocketResponse(
            # Frames above twice the limit are cut off by aiohttp before they
            # are buffered (close code 1009); the rest get a polite ERROR.
            max_msg_size=2 * self.max_message_bytes,
            compress=False,  # saves a zlib context per socket; messages are small
            decode_text=False,  # keep bytes: sizes are counted in bytes
            timeout=_CLOSE_TIMEOUT_S,
        )
        if not ws.can_prepare(request).ok:
            raise web.HTTPNotFound()  # express answers a plain GET here with 404
        await ws.prepare(request)
        client = await self._admit(ws, request.query)
        if client is None:
            return ws
        try:
            await self._serve(client, ws)
        finally:
            # Only the current socket owns the id: a replaced socket closing
            # late must not unregister its successor, and a same-token
            # re-attach is no removal, so nobody hears LEAVE for it.
            if client.ws is ws:
                await self._remove(client)
            await ws.close()
        return ws

    async def _admit(self, ws: web.WebSocketResponse, query: Any) -> _Client | None:
        """Register (or re-attach) the socket's id, or refuse it and close."""
        peer_id, token, key = query.get("id"), query.get("token"), query.get("key")
        if not peer_id or not token or not key:
            await self._refuse(ws, INVALID_WS_PARAMETERS)
            return None
        if key != self.key:
            await self._refuse(ws, INVALID_KEY)
            return None
        if not is_valid_id(peer_id):
            await self._refuse(ws, INVALID_ID)
            return None
        client = self.clients.get(peer_id)
        if client is not None:
            if token != client.token:
                await self._send(ws, {"type": "ID-TAKEN", "payload": {"msg": "ID is taken"}})
                await ws.close()
                return None
            # Same token: the owner reconnected before its old socket died.
            # peer 1.0.2 swaps sockets silently (no OPEN); we also close the
            # old one so that one id never holds more than one socket.
            old, client.ws = client.ws, ws
            client.last_ping = time.monotonic()
            self._close_soon(old)
        else:
            if len(self.clients) >= self.max_clients:
                await self._refuse(ws, CONNECTION_LIMIT_EXCEED)
                return None
            client = _Client(peer_id, token, ws, time.monotonic())
            self.clients[peer_id] = client
            await self._send(ws, {"type": "OPEN"})
        await self._deliver_queued(client)
        return client

    async def _serve(self, client: _Client, ws: web.WebSocketResponse) -> None:
        """Read the client's messages until it leaves, is replaced or misbehaves."""
        budget, refilled = self.max_messages_per_s, time.monotonic()
        async for frame in ws:
            if self.clients.get(client.id) is not client or client.ws is not ws:
                return  # unregistered (timeout, LEAVE) or replaced meanwhile
            if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            now = time.monotonic()
            budget = min(self.max_messages_per_s, budget + (now - refilled) * self.max_messages_per_s)
            refilled = now
            if budget < 1:
                await self._refuse(ws, TOO_MANY_MESSAGES)
                return
            budget -= 1
            if len(frame.data) > self.max_message_bytes:
                await self._refuse(ws, MESSAGE_TOO_BIG)
                return
            try:
                message = json.loads(frame.data.decode(), parse_constant=_reject_constant)
            except (ValueError, RecursionError):
                continue  # not UTF-8 JSON: nothing a peerjs client would send
            if isinstance(message, dict):
                await self._handle(client, message)

    async def _handle(self, client: _Client, message: dict[str, Any]) -> None:
        """Act on one parsed client message, as peer 1.0.2's MessageHandler does."""
        kind = message.get("type")
        if not isinstance(kind, str):
            return
        if kind == "HEARTBEAT":
            client.last_ping = time.monotonic()
        elif kind in _RELAYED:
            relayed: dict[str, Any] = {"type": kind, "src": client.id, "dst": message.get("dst")}
            if "payload" in message:
                relayed["payload"] = message["payload"]
            await self._transmit(relayed)

    # -- relaying ------------------------------------------------------------

    async def _transmit(self, message: dict[str, Any]) -> None:
        """Deliver to ``dst`` now, or queue it until ``dst`` connects.

        A destination whose socket cannot take the message is dropped and the
        sender is told with a LEAVE from it, as in peer 1.0.2.
        """
        src, dst, kind = message["src"], message["dst"], message["type"]
        target = self.clients.get(dst) if isinstance(dst, str) else None
        if target is not None:
            try:
                frame = _dumps(message)
            except (ValueError, RecursionError):
                return  # a payload the browser could not parse anyway
            if await self._send(target.ws, frame):
                sender = self.clients.get(src)
                if kind in _NEGOTIATION and sender is not None:
                    sender.add_partner(dst)
                    target.add_partner(src)
                return
            # As in peer 1.0.2 the sender hears LEAVE from the destination; the
            # destination's other partners hear it from _remove.
            await self._remove(target, told=src)
            await self._transmit({"type": "LEAVE", "src": dst, "dst": src})
        elif kind == "LEAVE" and not dst:
            # peer 1.0.2 unregisters a sender that LEAVEs without a target;
            # we also close its socket rather than keep it as an anonymous zombie.
            sender = self.clients.get(src)
            if sender is not None:
                await self._remove(sender)
        elif kind not in _NOT_QUEUED and is_valid_id(dst) and not self._enqueue(message):
            await self._transmit({"type": "EXPIRE", "src": dst, "dst": src})

    def _enqueue(self, message: dict[str, Any]) -> bool:
        """Queue for an absent peer within the memory budget.

        Returns False when the message was refused and the sender still has to
        be told (nothing of theirs is queued for that peer to EXPIRE later).
        """
        src, dst = message["src"], message["dst"]
        try:
            size = len(_dumps(message)) + len(dst) + _QUEUE_OVERHEAD_BYTES
        except (ValueError, RecursionError):
            return True  # unserialisable: drop it silently, as delivery would
        queue = self.queues.get(dst)
        full = queue is not None and len(queue.messages) >= self.max_queued_per_peer
        if full or self.queued_bytes + size > self.max_queued_bytes:
            return queue is not None and any(m["src"] == src for m, _ in queue.messages)
        if queue is None:
            queue = self.queues[dst] = _Queue(time.monotonic())
        queue.messages.append((message, size))
        self.queued_bytes += size
        return True

    def _take_queue(self, peer_id: str) -> list[dict[str, Any]]:
        """Remove and return the messages queued for ``peer_id``."""
        queue = self.queues.pop(peer_id, None)
        if queue is None:
            return []
        self.queued_bytes -= sum(size for _, size in queue.messages)
        return [message for message, _ in queue.messages]

    async def _deliver_queued(self, client: _Client) -> None:
        """Hand a (re)connected peer what was sent to it while it was away."""
        for message in self._take_queue(client.id):
            await self._transmit(message)

    # -- housekeeping -----------------------------------------------------------

    async def sweep_forever(self) -> None:
        """Expire stale queues and drop silent clients, every sweep interval."""
        while True:
            await asyncio.sleep(self.sweep_interval_s)
            try:
                await self._sweep(time.monotonic())
            except Exception:  # a bug here must not stop future sweeps
                log.exception("signalling sweep failed")

    async def _sweep(self, now: float) -> None:
        """One pass of peer 1.0.2's MessagesExpire and CheckBrokenConnections."""
        for client in list(self.clients.values()):
            if now - client.last_ping >= self.alive_timeout_s and self.clients.get(client.id) is client:
                self._take_queue(client.id)
                await self._remove(client)
        for dst in [d for d, q in self.queues.items() if now - q.created >= self.expire_timeout_s]:
            told: set[str] = set()
            for message in self._take_queue(dst):
                if message["src"] not in told:
                    told.add(message["src"])
                    await self._transmit({"type": "EXPIRE", "src": dst, "dst": message["src"]})

    async def _remove(self, client: _Client, told: str | None = None) -> None:
        """Unregister a client, close its socket, and send LEAVE to its partners.

        peer 1.0.2 tells nobody; we send ``{"type":"LEAVE","src":id,"dst":partner}``
        to every partner still connected (except ``told``, who already hears
        it), so the peerjs client closes its connections to the removed id.
        Does nothing when ``client`` no longer holds its id (already removed).
        """
        if self.clients.get(client.id) is not client:
            return
        self._drop(client)
        recipients = []
        for peer_id in client.partners:
            partner = self.clients.get(peer_id)
            if partner is not None:
                partner.partners.pop(client.id, None)
                if peer_id != told:
                    recipients.append(peer_id)
        client.partners.clear()
        for peer_id in recipients:
            # A partner whose socket fails is removed in turn; that ends, as
            # every removal takes one client out of the registry.
            await self._transmit({"type": "LEAVE", "src": client.id, "dst": peer_id})

    def _drop(self, client: _Client) -> None:
        """Unregister a client and close its socket without waiting (no LEAVE: see _remove)."""
        if self.clients.get(client.id) is client:
            del self.clients[client.id]
        self._close_soon(client.ws)

    def _close_soon(self, ws: web.WebSocketResponse) -> None:
        """Close a socket in the background; the caller may be another peer's reader."""
        task = asyncio.get_running_loop().create_task(ws.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """Close every client socket so that server shutdown does not hang on them."""
        for client in list(self.clients.values()):
            self._drop(client)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # -- sending ------------------------------------------------------------

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any] | str) -> bool:
        """Send one frame; False when the socket is gone or too slow to take it.

        The timeout keeps a peer that stops reading from stalling the sender's
        reader (and so the sender's own heartbeats).
        """
        if ws.closed:
            return False
        frame = message if isinstance(message, str) else _dumps(message)
        try:
            await asyncio.wait_for(ws.send_str(frame), self.send_timeout_s)
        except (ConnectionError, RuntimeError, asyncio.TimeoutError):
            return False
        return True

    async def _refuse(self, ws: web.WebSocketResponse, msg: str) -> None:
        """peer 1.0.2's _sendErrorAndClose: the client aborts with this message."""
        await self._send(ws, {"type": "ERROR", "payload": {"msg": msg}})
        await ws.close()


_SIGNALLER = web.AppKey("signaller", _Signaller)


async def _description(request: web.Request) -> web.Response:
    """``GET /``: the same self-description as the official server."""
    return web.json_response(DESCRIPTION, dumps=_dumps)


async def _id(request: web.Request) -> web.Response:
    """``GET /<key>/id``: a fresh peer id as text/html, whatever the key (as in 1.0.2)."""
    return web.Response(text=request.app[_SIGNALLER].new_id(), content_type="text/html")


async def _peers(request: web.Request) -> web.Response:
    """``GET /<key>/peers``: peer listing is never allowed (1.0.2's default)."""
    return web.Response(status=401, text="Unauthorized")


async def _websocket(request: web.Request) -> web.StreamResponse:
    """``GET /peerjs``: the client's socket, served by the app's signaller."""
    return await request.app[_SIGNALLER].websocket(request)


@web.middleware
async def _cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Reflect the caller's origin like peer 1.0.2 (cors with origin: true)."""
    response = await handler(request)
    origin = request.headers.get("Origin")
    if origin and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    return response


def make_signalling_app(
    *,
    key: str = "peerjs",
    max_clients: int = 64,
    alive_timeout_s: float = 60,
    expire_timeout_s: float = 5,
    max_message_bytes: int = 64 * 1024,
    max_messages_per_s: float = 100,
    max_queued_per_peer: int = 64,
    max_queued_bytes: int = 4 * 1024 * 1024,
    send_timeout_s: float = 5,
    sweep_interval_s: float = 0.3,
) -> web.Application:
    """Build the signalling sub-application; mount it with ``root.add_subapp("/peerjs", app)``.

    Routes, relative to the mount point (the client's ``path``):

    * ``GET /``            -- server description JSON
    * ``GET /<key>/id``    -- a fresh random id (text)
    * ``GET /<key>/peers`` -- 401, discovery is disabled
    * ``GET /peerjs``      -- the WebSocket (``?key=&id=&token=``)

    ``max_clients`` is peer's ``concurrent_limit``; ``alive_timeout_s`` and
    ``expire_timeout_s`` are its ``alive_timeout`` and ``expire_timeout``.
    The rest bound what one hostile socket can cost: message size and rate,
    messages queued per absent peer and in total, and how long a send to a
    peer that stopped reading may block.  Housekeeping runs every
    ``sweep_interval_s``.
    """
    signaller = _Signaller(
        key=key,
        max_clients=max_clients,
        alive_timeout_s=alive_timeout_s,
        expire_timeout_s=expire_timeout_s,
        max_message_bytes=max_message_bytes,
        max_messages_per_s=max_messages_per_s,
        max_queued_per_peer=max_queued_per_peer,
        max_queued_bytes=max_queued_bytes,
        send_timeout_s=send_timeout_s,
        sweep_interval_s=sweep_interval_s,
    )
    app = web.Application(middlewares=[_cors])
    app[_SIGNALLER] = signaller
    app.router.add_get("/", _description)
    app.router.add_get("/peerjs", _websocket)
    app.router.add_get("/{key}/id", _id)
    app.router.add_get("/{key}/peers", _peers)

    async def housekeeping(_: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.get_running_loop().create_task(signaller.sweep_forever())
        yield
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)

    async def close_sockets(_: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for handlers: open sockets would stall it.
        await signaller.close_all()

    app.cleanup_ctx.append(housekeeping)
    app.on_shutdown.append(close_sockets)
    return app
