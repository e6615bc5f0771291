"""What the viewer and the broadcaster do alike with a received message.

A bad message is answered with `error` and changes nothing: handlers validate
everything before they assign anything, and raise ProtocolError otherwise.
"""

from typing import List

from . import messages, states
from .actions import Action, Chat, Disconnect, PeerError, Send
from .errors import ProtocolError, BAD_MESSAGE, CHANNEL_CLOSED, NOT_OPEN, RATE_LIMITED

MAX_MESSAGES_PER_SECOND = 20
OPEN_ONLY = ("pay", "close", "pay_ack", "end", "closed", "hold", "unhold")


class Flood:
    """More than 20 messages within one second of the caller's clock (§1)."""

    def __init__(self):
        self._second, self._count = None, 0

    def __call__(self, now: int) -> bool:
        if now != self._second:
            self._second, self._count = now, 0
        self._count += 1
        return self._count > MAX_MESSAGES_PER_SECOND


def flooded() -> List[Action]:
    return [Send(messages.error(RATE_LIMITED, f"more than {MAX_MESSAGES_PER_SECOND} messages in a second")),
            Disconnect()]


class Receiver:
    """What every receiver of wire messages does first: the flood check, parsing, the peer's
    own `error` reports. A bad message is answered with `error` and changes nothing."""

    def __init__(self):
        self._flood = Flood()

    def receive(self, raw, now: int) -> List[Action]:
        """Handle one message from the peer: text, bytes or a decoded JSON object."""
        now = int(now)
        if self._flood(now):
            return flooded()
        return self.deliver(raw, now)

    def deliver(self, raw, now: int) -> List[Action]:
        """`receive` without §1's flood check, for a transport that limits each channel's rate
        itself and carries many messages a second (HTTP: one payment per request, 429 beyond)."""
        now = int(now)
        try:
            msg = messages.parse_message(raw)
            if msg["type"] == "error":
                return [PeerError(msg["code"], msg["message"])]
            return self._handle(msg, now)
        except ProtocolError as e:
            return [Send(messages.error(e.code, e.message))]

    def _handle(self, msg: dict, now: int) -> List[Action]:
        raise NotImplementedError


class Peer(Receiver):
    state: str
    PRE_OPEN_STATES: tuple
    UNHEARD_STATES: tuple = ()  # states in which the peer has not shown who it is: no chat either

    def _handle(self, msg: dict, now: int) -> List[Action]:
        kind = msg["type"]
        if kind == "chat" and self.state not in self.UNHEARD_STATES:
            return [Chat(msg["text"], msg.get("from"))]
        handler = self.HANDLERS.get((self.state, kind))
        if handler is None:
            raise self._wrong_state(kind)
        return handler(self, msg, now)

    def _wrong_state(self, kind: str) -> ProtocolError:
        if self.state in states.ENDED:
            return ProtocolError(CHANNEL_CLOSED, f"{kind} received but the channel is {self.state}")
        if (kind in OPEN_ONLY or kind == "chat") and self.state in self.PRE_OPEN_STATES:
            return ProtocolError(NOT_OPEN, f"{kind} received but the channel is not open yet")
        return ProtocolError(BAD_MESSAGE, f"{kind} is not expected in state {self.state}")

    def chat(self, text: str, sender: str = None) -> List[Action]:
        """Send a chat line (the broadcaster names the sender)."""
        fields = {"text": text[: messages.MAX_CHAT_CHARS]}
        if sender is not None:
            fields["from"] = sender[:100]
        return [Send(messages.message("chat", **fields))]
