"""The Janus VideoRoom requests with which a broadcaster lets paying viewers, and only them, take
its stream from a relay (issue 15; the facts from ../shared/design/janus-notes.md).

Sans-I/O: each function returns the `body` of one VideoRoom message, and `answer` checks what
Janus sent back; a transport (the page's WebSocket, a test's aiohttp) carries them. Janus 1.1
ignores a subscriber's token, so a viewer joins the room as a *member* with its token (never
publishing: the room admits one publisher) and subscribes with the `private_id` that join
returns. The room is created with a secret only its broadcaster knows, so only it can admit
(`allow`), revoke and kick. `Gate` is the broadcaster's bookkeeping: which member id each
admitted viewer must join with, and what to do about every member the room lists.
"""

import os
import re
from dataclasses import dataclass, field

PLUGIN = "janus.plugin.videoroom"
NOT_ALLOWED = 433  # VideoRoom's error code for a join without an allowed token (or private_id)
NO_SUCH_FEED = 428  # ... for a kick of a member no longer in the room


class RelayError(ValueError):
    """Janus refused a request, or answered in a way this module does not expect."""

    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.code = code


def new_token() -> str:
    """A viewer's single-use admission: 128 random bits, hex."""
    return os.urandom(16).hex()


@dataclass(frozen=True)
class Room:
    room_id: int
    secret: str  # the broadcaster's, for every change to the room

    @classmethod
    def new(cls) -> "Room":
        return cls(int.from_bytes(os.urandom(6), "big"), os.urandom(16).hex())

    def create(self, admin_key: str, own_token: str) -> dict:
        """The room, admitting only its broadcaster's own join (`admin_key`: the relay operator's,
        VideoRoom's; `own_token`: revoked once the broadcaster has joined)."""
        return {"request": "create", "room": self.room_id, "secret": self.secret, "admin_key": admin_key,
                "is_private": True, "require_pvtid": True, "allowed": [own_token], "publishers": 1,
                "notify_joining": False}

    def allow(self, token: str) -> dict:
        return {"request": "allowed", "room": self.room_id, "secret": self.secret, "action": "add",
                "allowed": [token]}

    def revoke(self, token: str) -> dict:
        """The token no longer joins; a member already in stays until `kick`."""
        return {"request": "allowed", "room": self.room_id, "secret": self.secret, "action": "remove",
                "allowed": [token]}

    def kick(self, member_id: int) -> dict:
        return {"request": "kick", "room": self.room_id, "secret": self.secret, "id": member_id}

    def destroy(self) -> dict:
        """The room gone (answered `destroyed`): Janus keeps a room until told, so a broadcast
        that ends, or goes live again after a reload, removes its last one."""
        return {"request": "destroy", "room": self.room_id, "secret": self.secret}


    def members(self) -> dict:
        return {"request": "listparticipants", "room": self.room_id}


def join_as_member(room_id: int, token: str, member_id: int | None = None) -> dict:
    """A viewer's join: a publisher that never publishes, so that its token is checked (with the
    member id its broadcaster gave it, so that the broadcaster knows whom to cut off)."""
    return {"request": "join", "ptype": "publisher", "room": room_id, "token": token,
            **({"id": member_id} if member_id is not None else {})}


def subscribe(room_id: int, feed: int, private_id: int) -> dict:
    """A member's subscription to the broadcaster's feed (the room checks `private_id`)."""
    return {"request": "join", "ptype": "subscriber", "room": room_id, "streams": [{"feed": feed}],
            "private_id": private_id}


MAX_ID = 2 ** 53 - 1  # Janus's ids are integers JavaScript holds exactly
TOKEN = re.compile(r"[0-9a-f]{32}")
RELAY_URL = re.compile(r"wss?://[A-Za-z0-9.\-\[\]:]{1,255}(/[\x21-\x7e]{0,200})?")


def relay_id(data, key: str) -> int:
    """`data[key]`, if it is an id as Janus gives them; RelayError otherwise."""
    value = data.get(key) if isinstance(data, dict) else None
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise RelayError(f"the relay's answer has no {key}")
    return value


def new_id() -> int:
    return int.from_bytes(os.urandom(6), "big") or 1


@dataclass(frozen=True)
class Admission:
    """What a paying viewer needs to take the stream from the relay: sent by its broadcaster
    over their data connection (never through the relay), single use."""

    url: str  # the relay's WebSocket API
    room: int
    feed: int  # the broadcaster's stream in the room
    member: int  # the id this viewer joins with
    token: str

    def message(self) -> dict:
        return {"type": "relay", "url": self.url, "room": self.room, "feed": self.feed, "member": self.member,
                "token": self.token}

    @classmethod
    def parse(cls, message) -> "Admission":
        """The broadcaster's `relay` message, checked; RelayError if anything is off."""
        if not isinstance(message, dict) or message.get("type") != "relay":
            raise RelayError("not a relay admission")
        url, token = message.get("url"), message.get("token")
        if not isinstance(url, str) or not RELAY_URL.fullmatch(url):
            raise RelayError("the relay admission names no ws:// or wss:// address")
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise RelayError("the relay admission's token is not 32 hex digits")
        try:
            ids = [relay_id(message, k) for k in ("room", "feed", "member")]
        except RelayError:
            raise RelayError("the relay admission's room, feed and member must be positive integer ids")
        return cls(url, *ids, token)


@dataclass
class Gate:
    """The broadcaster's record of whom its room admits: each admitted viewer's member id and
    token. From the room's member list it says what to do: a token is spent (revoked) once its
    viewer has joined, and any member it did not admit, or a member that publishes, is kicked."""

    room: Room
    feed: int
    tokens: dict = field(default_factory=dict)  # member id -> token, while admitted
    joined: set = field(default_factory=set)

    def admit(self, url: str) -> tuple:
        """A new admission for a viewer whose payment was accepted, and the request that allows it."""
        member = new_id()
        while member == self.feed or member in self.tokens:
            member = new_id()
        token = new_token()
        self.tokens[member] = token
        return Admission(url, self.room.room_id, self.feed, member, token), self.room.allow(token)

    def cut(self, member: int) -> list:
        """The requests that end a viewer's admission: its token and its place in the room."""
        token = self.tokens.pop(member, None)
        self.joined.discard(member)
        return ([self.room.revoke(token)] if token else []) + [self.room.kick(member)]

    def review(self, participants) -> list:
        """The requests the room's member list calls for (`participants`: listparticipants' list)."""
        if not isinstance(participants, list):
            raise RelayError("the relay's member list is not a list")
        requests = []
        for member in participants:
            member_id = member.get("id") if isinstance(member, dict) else None
            if type(member_id) is not int or member_id == self.feed:
                continue
            if member_id not in self.tokens or member.get("publisher"):
                requests += self.cut(member_id)
            elif member_id not in self.joined:
                self.joined.add(member_id)
                requests.append(self.room.revoke(self.tokens[member_id]))
        return requests


def answer(plugindata: dict, expected: str) -> dict:
    """VideoRoom's answer `data`, if it is `expected` (e.g. "created", "joined", "success");
    RelayError with Janus's error code otherwise."""
    if not isinstance(plugindata, dict) or plugindata.get("plugin") != PLUGIN:
        raise RelayError("the relay's answer is not the VideoRoom plugin's")
    data = plugindata.get("data")
    if not isinstance(data, dict):
        raise RelayError("the relay's answer has no data")
    if "error_code" in data:
        code = data["error_code"]
        raise RelayError(f"the relay refused: {data.get('error', 'no reason given')} ({code})",
                         code if isinstance(code, int) else 0)
    if data.get("videoroom") != expected:
        raise RelayError(f"the relay answered {data.get('videoroom')!r}, not {expected!r}")
    return data
