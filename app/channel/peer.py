"""What the viewer and the broadcaster do alike with a received message.

A bad message is answered with `error` and changes nothing: handlers validate
everything before they assign anything, and raise ProtocolError otherwise.
"""

from typing import List

from . import messages
from .actions import Action, Chat, Disconnect, PeerError, Send
from .errors import ProtocolError, BAD_MESSAGE, CHANNEL_CLOSED, NOT_OPEN, RATE_LIMITED

MAX_MESSAGES_PER_SECOND = 20
ENDED_STATES = ("closing", "closed", "expired")
OPEN_ONLY = ("pay", "close", "pay_ack", "end", "closed")


class Peer:
    state: str
    PRE_OPEN_STATES: tuple

    def __init__(self):
        self._second = None
        self._count = 0

    def receive(self, raw, now: int) -> List[Action]:
        """Handle one message from the peer: text, bytes or a decoded JSON object."""
        now = int(now)
        if self._flooding(now):
            return [Send(messages.error(RATE_LIMITED, "more than 20 messages in a second")), Disconnect()]
        try:
            msg = messages.parse_message(raw)
            kind = msg["type"]
            if kind == "error":
                return [PeerError(msg["code"], msg["message"])]
            if kind == "chat":
                return [Chat(msg["text"], msg.get("from"))]
            handler = self.HANDLERS.get((self.state, kind))
            if handler is None:
                raise self._wrong_state(kind)
            return handler(self, msg, now)
        except ProtocolError as e:
            return [Send(messages.error(e.code, e.message))]

    def _wrong_state(self, kind: str) -> ProtocolError:
        if self.state in ENDED_STATES:
            return ProtocolError(CHANNEL_CLOSED, f"{kind} received but the channel is {self.state}")
        if kind in OPEN_ONLY and self.state in self.PRE_OPEN_STATES:
            return ProtocolError(NOT_OPEN, f"{kind} received but the channel is not open yet")
        return ProtocolError(BAD_MESSAGE, f"{kind} is not expected in state {self.state}")

    def _flooding(self, now: int) -> bool:
        if now != self._second:
            self._second, self._count = now, 0
        self._count += 1
        return self._count > MAX_MESSAGES_PER_SECOND

    def chat(self, text: str, sender: str = None) -> List[Action]:
        """Send a chat line (the broadcaster names the sender)."""
        fields = {"text": text[: messages.MAX_CHAT_CHARS]}
        if sender is not None:
            fields["from"] = sender[:100]
        return [Send(messages.message("chat", **fields))]
