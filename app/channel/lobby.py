"""The broadcaster's side of one data connection, before it speaks for a channel (v2 §A).

A connection speaks for no channel until the viewer says `hello` (and gets a new channel of
its own) or resumes one with K1's signature. Until then nothing it sends changes any
channel: `pay`, `close`, `chat` and the rest get `not_open`. A resume that fails changes
nothing, and the connection that had the channel keeps it.
"""

from typing import Callable, List, Optional

from . import messages
from .actions import Action, Bind, Send
from .broadcaster import Broadcaster
from .errors import ProtocolError, NOT_OPEN
from .peer import Receiver


class Lobby(Receiver):
    """One per incoming data connection; the page hands it every message of that connection.

    `find(funding_txid, viewer_pubkey)`: the broadcaster's objects of channels with that funding
    (one, normally); `new()`: a Broadcaster for a viewer that said hello, or None when the
    broadcast takes no viewers.
    """

    def __init__(self, find: Callable[[str, str], List[Broadcaster]], new: Callable[[], Optional[Broadcaster]]):
        super().__init__()
        self.find, self.new = find, new
        self.broadcaster: Optional[Broadcaster] = None

    def receive(self, raw, now: int) -> List[Action]:
        if self.broadcaster is not None:
            return self.broadcaster.receive(raw, now)
        return super().receive(raw, now)

    def _handle(self, msg: dict, now: int) -> List[Action]:
        kind = msg["type"]
        if kind == "hello":
            return self._hello(self.new())
        if kind == "resume":
            return self._resume(msg, now, self.find(msg["funding_txid"], msg["viewer_pubkey"]))
        raise ProtocolError(NOT_OPEN, f"{kind} before hello or resume")

    def _hello(self, broadcaster: Optional[Broadcaster]) -> List[Action]:
        if broadcaster is None:
            return [Send(messages.message("end", reason="stopped"))]
        self.broadcaster = broadcaster
        return [Bind(broadcaster)] + broadcaster.start()

    def _resume(self, msg: dict, now: int, candidates: List[Broadcaster]) -> List[Action]:
        refusal = ProtocolError(NOT_OPEN, "no such channel here")
        for broadcaster in candidates:
            try:
                actions = broadcaster.resume(msg, now)  # raises, changing nothing, unless K1 signed it
            except ProtocolError as e:
                refusal = e
                continue
            self.broadcaster = broadcaster
            return [Bind(broadcaster)] + actions
        raise refusal
