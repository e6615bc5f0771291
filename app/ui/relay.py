"""The pages' binding to a Janus relay (issue 15): its WebSocket API (subprotocol `janus-protocol`)
and the RTCPeerConnections that carry the video through it. The broadcaster publishes its one
stream; a viewer subscribes with the admission its broadcaster sent it (app/relay_room.py holds
the VideoRoom requests and every check; nothing here decides who may watch).

SDP goes whole, candidates included (`trickle: false`): on a relay the candidates are few and
known within a moment, and one message each way is simpler to follow than a trickle.
"""

import asyncio
import itertools
import json

import js
from pyodide.ffi import create_proxy

from app.relay_room import (NO_SUCH_FEED, PLUGIN, Admission, Gate, RelayError, Room, answer, join_as_member,
                             new_token, relay_id, subscribe)
from app.ui.dom import js_object

KEEPALIVE_S = 25  # serve.py's Janus drops a session silent for 60 s
ANSWER_S = 15
GATHER_S = 5


class JanusSession:
    """One Janus session over one WebSocket: requests matched to answers by transaction."""

    numbers = itertools.count(1)

    def __init__(self, url):
        self.url, self.ws, self.session_id = url, None, None
        self.pending, self.proxies, self.closed = {}, [], False

    async def open(self):
        opened = asyncio.get_event_loop().create_future()
        self.ws = js.WebSocket.new(self.url, "janus-protocol")

        def on_open(*_):
            opened.done() or opened.set_result(True)

        def on_close(*_):
            self.closed = True
            opened.done() or opened.set_exception(RelayError(f"the relay at {self.url} cannot be reached"))
            for waiting in self.pending.values():
                waiting.done() or waiting.set_exception(RelayError("the relay closed the connection"))

        for event, handler in (("open", on_open), ("close", on_close), ("message", self._message)):
            proxy = create_proxy(handler)
            self.proxies.append(proxy)
            self.ws.addEventListener(event, proxy)
        await asyncio.wait_for(opened, ANSWER_S)
        self.session_id = relay_id((await self.call({"janus": "create"})).get("data"), "id")
        asyncio.ensure_future(self._keep_alive())
        return self

    def _message(self, event, *_):
        try:
            reply = json.loads(str(event.data))
        except ValueError:
            return
        if not isinstance(reply, dict) or reply.get("janus") == "ack":
            return
        waiting = self.pending.pop(reply.get("transaction"), None)  # what Janus says unasked is not needed
        if waiting is not None:
            waiting.done() or waiting.set_result(reply)

    async def call(self, message: dict) -> dict:
        """Janus's answer to `message` (for VideoRoom's asynchronous requests, the event that ends it)."""
        if self.closed:
            raise RelayError("the relay closed the connection")
        transaction = str(next(self.numbers))
        waiting = self.pending[transaction] = asyncio.get_event_loop().create_future()
        extra = {"session_id": self.session_id} if self.session_id else {}
        self.ws.send(json.dumps({**message, **extra, "transaction": transaction}))
        try:
            reply = await asyncio.wait_for(waiting, ANSWER_S)
        finally:
            self.pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise RelayError(f"the relay refused: {error.get('reason', 'no reason given')}", error.get("code", 0))
        return reply

    async def attach(self) -> int:
        return relay_id((await self.call({"janus": "attach", "plugin": PLUGIN})).get("data"), "id")

    async def send(self, handle: int, body: dict, expected: str, jsep=None) -> tuple:
        """VideoRoom's answer data to `body` on `handle`, and the SDP that came with it."""
        reply = await self.call({"janus": "message", "handle_id": handle, "body": body,
                                 **({"jsep": jsep} if jsep else {})})
        return answer(reply.get("plugindata"), expected), reply.get("jsep")

    async def _keep_alive(self):
        while not self.closed:
            await asyncio.sleep(KEEPALIVE_S)
            if not self.closed:
                self.ws.send(json.dumps({"janus": "keepalive", "session_id": self.session_id,
                                         "transaction": str(next(self.numbers))}))

    def close(self):
        self.closed = True
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001  (never opened)
            pass


async def _whole_sdp(pc) -> dict:
    """The local description once its candidates are in it (or after GATHER_S, with what there is)."""
    for _ in range(GATHER_S * 20):
        if str(pc.iceGatheringState) == "complete":
            break
        await asyncio.sleep(0.05)
    description = pc.localDescription
    return {"type": str(description.type), "sdp": str(description.sdp), "trickle": False}


def _sdp(jsep, kind):
    if not isinstance(jsep, dict) or jsep.get("type") != kind or not isinstance(jsep.get("sdp"), str):
        raise RelayError(f"the relay sent no SDP {kind}")
    return js_object({"type": kind, "sdp": jsep["sdp"]})


async def publish(session: JanusSession, handle: int, stream, ice_servers) -> object:
    """Send `stream` to the room `handle` has joined as its publisher; the RTCPeerConnection."""
    pc = js.RTCPeerConnection.new(js_object({"iceServers": list(ice_servers)}))
    for track in stream.getTracks():
        pc.addTrack(track, stream)
    await pc.setLocalDescription(await pc.createOffer())
    data, jsep = await session.send(handle, {"request": "configure", "audio": True, "video": True}, "event",
                                    await _whole_sdp(pc))
    if data.get("configured") != "ok":
        pc.close()
        raise RelayError("the relay did not take the stream")
    await pc.setRemoteDescription(_sdp(jsep, "answer"))
    return pc


async def receive(session: JanusSession, handle: int, offer, ice_servers, on_stream) -> object:
    """Answer the relay's `offer` of the broadcaster's stream on `handle`; `on_stream` gets the
    MediaStream. The RTCPeerConnection."""
    pc = js.RTCPeerConnection.new(js_object({"iceServers": list(ice_servers)}))
    remote = js.MediaStream.new()

    def track(event, *_):
        remote.addTrack(event.track)
        on_stream(remote)

    pc.addEventListener("track", create_proxy(track))
    await pc.setRemoteDescription(_sdp(offer, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await session.send(handle, {"request": "start"}, "event", await _whole_sdp(pc))
    return pc


class OnRelay:
    """A page's session on the relay and the RTCPeerConnection it carries the video on."""

    session = pc = None

    def stop(self):
        if self.pc is not None:
            self.pc.close()
        if self.session is not None:
            self.session.close()  # kept, closed: a request still in flight fails with RelayError
        self.pc = None


class RelayBroadcast(OnRelay):
    """The broadcaster's room on the relay: its one published stream, and its viewers admitted
    and cut off as their payments start and stop (the decisions are app/relay_room.Gate's)."""

    REVIEW_S = 2

    def __init__(self, url, on_problem):
        self.url, self.on_problem = url, on_problem
        self.handle = self.gate = None

    async def start(self, admin_key, stream, ice_servers, leftover: Room | None = None):
        """Open a room and publish `stream` there (`leftover`: the room of this broadcast's last
        page, destroyed first)."""
        self.session = await JanusSession(self.url).open()
        try:
            self.handle = await self.session.attach()
            if leftover is not None:
                await self._destroy(leftover)
            room, own = Room.new(), new_token()
            await self.session.send(self.handle, room.create(admin_key, own), "created")
            joined, _ = await self.session.send(self.handle, join_as_member(room.room_id, own), "joined")
            await self.session.send(self.handle, room.revoke(own), "success")
            self.gate = Gate(room, relay_id(joined, "id"))
            self.pc = await publish(self.session, self.handle, stream, ice_servers)
        except Exception:
            self.stop()
            raise
        asyncio.ensure_future(self._review_loop())

    async def _requests(self, requests):
        for body in requests:
            try:
                await self.session.send(self.handle, body, "success")
            except RelayError as refused:
                if refused.code != NO_SUCH_FEED:  # a kick of one already gone is done
                    raise

    async def admit(self) -> Admission:
        """A single-use admission for a viewer whose payment was accepted, allowed in the room
        before it is handed out."""
        admission, allow = self.gate.admit(self.url)
        await self._requests([allow])
        return admission

    async def cut(self, member):
        await self._requests(self.gate.cut(member))

    async def _destroy(self, room):
        try:
            await self.session.send(self.handle, room.destroy(), "destroyed")
        except (RelayError, asyncio.TimeoutError):
            pass  # gone already (a restarted relay), or the relay is down: nothing more to do

    async def close(self):
        """Remove the room (every viewer's media ends with it), then hang up."""
        if self.gate is not None:
            await self._destroy(self.gate.room)
        self.stop()

    async def _review_loop(self):
        while self.session is not None and not self.session.closed:
            await asyncio.sleep(self.REVIEW_S)
            try:
                data, _ = await self.session.send(self.handle, self.gate.room.members(), "participants")
                await self._requests(self.gate.review(data.get("participants")))
            except (RelayError, asyncio.TimeoutError) as failure:
                self.on_problem(f"the relay: {failure}")


class RelayView(OnRelay):
    """A viewer's subscription to its broadcaster's stream on the relay, with one admission."""

    def __init__(self, admission: Admission):
        self.admission = admission

    async def start(self, ice_servers, on_stream):
        a = self.admission
        self.session = await JanusSession(a.url).open()
        try:
            member = await self.session.attach()
            joined, _ = await self.session.send(member, join_as_member(a.room, a.token, a.member), "joined")
            viewer = await self.session.attach()
            private_id = relay_id(joined, "private_id")
            _, offer = await self.session.send(viewer, subscribe(a.room, a.feed, private_id), "attached")
            self.pc = await receive(self.session, viewer, offer, ice_servers, on_stream)
        except Exception:
            self.stop()
            raise

