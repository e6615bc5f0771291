"""app/relay_room.py against a real Janus (Debian's, started as serve.py --sfu janus starts it): a
room only its broadcaster can change, a viewer admitted by a single-use token, a viewer without
one or with a spent one refused (433), and a kicked viewer out for good."""

import itertools
import json

import aiohttp
import pytest

from app.relay_room import (NOT_ALLOWED, PLUGIN, Admission, Gate, RelayError, Room, answer, join_as_member, new_token,
                             relay_id, subscribe)
from streamium_server.janus import JanusProcess
from tests.conftest import free_port


class JanusHandle:
    """One session and one VideoRoom handle over Janus's WebSocket API, as a page would hold them."""

    numbers = itertools.count(1)

    def __init__(self, ws):
        self.ws, self.session, self.handle = ws, None, None

    async def call(self, message: dict) -> dict:
        transaction = str(next(self.numbers))
        await self.ws.send_json({**message, "transaction": transaction})
        while True:
            reply = json.loads((await self.ws.receive(timeout=10)).data)
            if reply.get("transaction") == transaction and reply.get("janus") != "ack":
                return reply

    async def open(self):
        self.session = (await self.call({"janus": "create"}))["data"]["id"]
        self.handle = (await self.call({"janus": "attach", "session_id": self.session, "plugin": PLUGIN}))["data"]["id"]
        return self

    async def send(self, body: dict, expected: str) -> dict:
        reply = await self.call({"janus": "message", "session_id": self.session, "handle_id": self.handle,
                                 "body": body})
        return answer(reply.get("plugindata"), expected)


@pytest.fixture
async def relay(tmp_path):
    port = free_port()
    janus = JanusProcess(tmp_path / "janus", port, free_port())
    await janus.start()
    keys = json.loads((tmp_path / "janus" / "secrets.json").read_text())
    async with aiohttp.ClientSession() as session:
        async def handle():
            ws = await session.ws_connect(janus.url, protocols=("janus-protocol",))
            return await JanusHandle(ws).open()
        yield handle, keys["room_admin_key"]
    await janus.stop()


async def refused(call, code=None) -> int:
    with pytest.raises(RelayError) as refusal:
        await call
    assert code is None or refusal.value.code == code, refusal.value
    return refusal.value.code


async def test_only_the_relay_operators_key_creates_a_room_and_only_its_secret_changes_it(relay):
    handle, admin_key = relay
    broadcaster, room = await handle(), Room.new()
    await refused(broadcaster.send(room.create("not the key", new_token()), "created"))
    assert (await broadcaster.send(room.create(admin_key, new_token()), "created"))["room"] == room.room_id
    stranger = await handle()
    await refused(stranger.send(Room(room.room_id, "guessed").allow(new_token()), "success"))


async def test_a_token_admits_one_viewer_once_and_a_kick_is_for_good(relay):
    handle, admin_key = relay
    broadcaster, room = await handle(), Room.new()
    await broadcaster.send(room.create(admin_key, new_token()), "created")
    token = new_token()
    await broadcaster.send(room.allow(token), "success")  # after the viewer's first accepted payment

    viewer = await handle()
    joined = await viewer.send(join_as_member(room.room_id, token), "joined")
    assert isinstance(joined["private_id"], int)  # what it subscribes with
    await broadcaster.send(room.revoke(token), "success")  # single use: spent once joined

    copier = await handle()  # the token, copied to another viewer
    await refused(copier.send(join_as_member(room.room_id, token), "joined"), NOT_ALLOWED)
    nobody = await handle()  # no payment, no token
    await refused(nobody.send(join_as_member(room.room_id, new_token()), "joined"), NOT_ALLOWED)

    def members():
        return broadcaster.send({"request": "listparticipants", "room": room.room_id}, "participants")
    assert [m["id"] for m in (await members())["participants"]] == [joined["id"]]
    await broadcaster.send(room.kick(joined["id"]), "success")  # its payments stopped
    assert (await members())["participants"] == []
    again = await handle()
    await refused(again.send(join_as_member(room.room_id, token), "joined"), NOT_ALLOWED)


def test_an_answer_that_is_not_videorooms_is_refused():
    for bad in (None, {"plugin": "janus.plugin.echotest", "data": {}}, {"plugin": PLUGIN},
                {"plugin": PLUGIN, "data": {"videoroom": "destroyed"}}):
        with pytest.raises(RelayError):
            answer(bad, "created")


async def test_the_gate_spends_a_token_once_its_viewer_joined_and_kicks_whom_it_did_not_admit(relay):
    handle, admin_key = relay
    broadcaster, room, own = await handle(), Room.new(), new_token()
    await broadcaster.send(room.create(admin_key, own), "created")
    feed = (await broadcaster.send(join_as_member(room.room_id, own), "joined"))["id"]
    await broadcaster.send(room.revoke(own), "success")
    gate = Gate(room, feed)

    async def review():
        listed = await broadcaster.send(room.members(), "participants")
        for body in gate.review(listed["participants"]):
            await broadcaster.send(body, "success")
        return sorted(m["id"] for m in (await broadcaster.send(room.members(), "participants"))["participants"])

    admission, allow = gate.admit("ws://relay/")
    await broadcaster.send(allow, "success")
    viewer = await handle()
    joined = await viewer.send(join_as_member(admission.room, admission.token, admission.member), "joined")
    assert joined["id"] == admission.member
    # a second admission, used by its viewer with a member id of its own choosing: kicked
    other, allow = gate.admit("ws://relay/")
    await broadcaster.send(allow, "success")
    cheat = await handle()
    await cheat.send(join_as_member(other.room, other.token, other.member + 1), "joined")
    assert await review() == sorted([feed, admission.member])
    # the first viewer's token is spent: a copy of it lets nobody in, even under its member id
    copier = await handle()
    await refused(copier.send(join_as_member(room.room_id, admission.token), "joined"), NOT_ALLOWED)
    # nor can anyone subscribe without a member's private id
    await refused(copier.send(subscribe(room.room_id, feed, 12345), "attached"))
    for body in gate.cut(admission.member):  # its payments stopped
        await broadcaster.send(body, "success")
    assert await review() == [feed]


def test_an_admission_is_checked_before_anything_is_done_with_it():
    good = Admission("ws://127.0.0.1:8188/", 1, 2, 3, "ab" * 16)
    assert Admission.parse(good.message()) == good
    for change in ({"url": "http://relay/"}, {"url": "javascript:alert(1)"}, {"url": "ws://relay/\n"},
                   {"url": 5}, {"token": "AB" * 16}, {"token": "ab" * 15}, {"room": 0}, {"feed": -1},
                   {"member": 2 ** 53}, {"member": True}, {"room": "1"}, {"type": "pay"}):
        with pytest.raises(RelayError):
            Admission.parse({**good.message(), **change})
    with pytest.raises(RelayError):
        Admission.parse(["relay"])


def test_an_answer_without_the_id_it_should_carry_is_refused():
    assert relay_id({"id": 7}, "id") == 7
    for bad in (None, {}, {"id": "7"}, {"id": 0}, {"id": True}, {"id": 2 ** 53}, {"private_id": 7}):
        with pytest.raises(RelayError):
            relay_id(bad, "id")
