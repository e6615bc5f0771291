"""What a state machine asks its caller to do, in list order.

The caller MUST carry out the actions of one call in the order given and finish a
`Persist` before going on: that order is how the write-ahead rules of §7 hold.
"""

from dataclasses import dataclass, asdict
from typing import Any, Optional, Tuple


class Action:
    kind = ""

    def to_dict(self) -> dict:
        """Plain data for the JavaScript side, e.g. {"kind": "send", "message": {...}}."""
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Send(Action):
    """Send `message` to the peer (as JSON over the data connection)."""

    message: dict
    kind = "send"


@dataclass(frozen=True)
class Persist(Action):
    """Store `record` durably, replacing the channel's previous record."""

    record: dict
    kind = "persist"


@dataclass(frozen=True)
class Broadcast(Action):
    """Publish a transaction. It is final from median time past `not_before` on (T2), else now."""

    tx: str
    txid: str
    not_before: Optional[int] = None
    kind = "broadcast"


@dataclass(frozen=True)
class StartMedia(Action):
    """Broadcaster: call the viewer with the live stream."""

    kind = "start_media"


@dataclass(frozen=True)
class StopMedia(Action):
    """Broadcaster: hang up the viewer's media call."""

    kind = "stop_media"


@dataclass(frozen=True)
class ShowOffer(Action):
    """Viewer: show the broadcaster's terms; nothing is funded until the user accepts."""

    offer: dict
    kind = "show_offer"


@dataclass(frozen=True)
class ShowFunding(Action):
    """Viewer: ask the user to pay exactly `amount` (all fees included) to `address`."""

    address: str
    amount: int
    kind = "show_funding"


@dataclass(frozen=True)
class Chat(Action):
    """Show a chat line from the peer (`sender` is set by the broadcaster)."""

    text: str
    sender: Optional[str] = None
    kind = "chat"


@dataclass(frozen=True)
class PeerError(Action):
    """The peer reported an `error`; nothing changed here."""

    code: str
    message: str
    kind = "peer_error"


@dataclass(frozen=True)
class Disconnect(Action):
    """Close the data connection (the peer is flooding)."""

    kind = "disconnect"


@dataclass(frozen=True)
class LookUpInputs(Action):
    """Broadcaster: ask the chain for the value of each of T1's inputs (`outpoints`, as
    (txid, vout)) and report them, in order, with `funding_inputs(values, now)`."""

    outpoints: Tuple[Tuple[str, int], ...]
    kind = "look_up_inputs"


@dataclass(frozen=True)
class Bind(Action):
    """Broadcaster's lobby: this connection now speaks for `broadcaster` (a new channel after
    `hello`, or one whose `resume` was accepted); drop any older connection of that channel."""

    broadcaster: Any
    kind = "bind"

    def to_dict(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class ShowHold(Action):
    """Viewer: the broadcaster paused the media until T1 confirms (`held`), or resumed it."""

    held: bool
    reason: Optional[str] = None
    kind = "show_hold"


@dataclass(frozen=True)
class Closed(Action):
    """The channel is over; `txid` is the transaction that settled it, if any."""

    reason: str
    txid: Optional[str] = None
    kind = "closed"
