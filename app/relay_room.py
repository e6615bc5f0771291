"""The Janus VideoRoom requests with which a broadcaster lets paying viewers, and only them, take
its stream from a relay (issue 15; the facts from ../shared/design/janus-notes.md).

Sans-I/O: each function returns the `body` of one VideoRoom message, and `answer` checks what
Janus sent back; a transport (the page's WebSocket, a test's aiohttp) carries them. Janus 1.1
ignores a subscriber's token, so a viewer joins the room as a *member* with its token (never
publishing: the room admits one publisher) and subscribes with the `private_id` that join
returns. The room is created with a secret only its broadcaster knows, so only it can admit
(`allow`), revoke and kick. The pages do not call it yet: the broadcaster's binding (publish,
admit on the first accepted payment, revoke past grace) is the next step of issue 15;
tests/app/test_relay_room.py holds it to a real Janus meanwhile.
"""

import os
from dataclasses import dataclass

PLUGIN = "janus.plugin.videoroom"
NOT_ALLOWED = 433  # VideoRoom's error code for a join without an allowed token (or private_id)


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

    def create(self, admin_key: str) -> dict:
        """The room, admitting nobody yet (`admin_key`: the relay operator's, VideoRoom's)."""
        return {"request": "create", "room": self.room_id, "secret": self.secret, "admin_key": admin_key,
                "is_private": True, "require_pvtid": True, "allowed": [], "publishers": 1,
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


def join_as_member(room_id: int, token: str) -> dict:
    """A viewer's join: a publisher that never publishes, so that its token is checked."""
    return {"request": "join", "ptype": "publisher", "room": room_id, "token": token}


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
