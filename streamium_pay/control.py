"""A server's control plane (docs/http-payments.md §3): the core's messages POSTed as JSON, the
answers delivered to the core, and the core's actions carried out in their order, each Persist
stored before the next message goes out."""

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import aiohttp
from yarl import URL

from app.channel import Broadcast, Closed, PeerError, Persist, Send, Viewer, canonical_json
from app.chain_watch import broadcast_until_known

from .errors import BadAnswer, ServerRefused, Unreachable
from .wallet import ChannelEntry, Wallet

MAX_ANSWER_BYTES = 16 * 1024  # a protocol message is at most 8 KiB
TIMEOUT_S = 60


@dataclass
class Outcome:
    """What the core asked for besides storing: messages for the server, transactions to publish."""

    sends: List[dict] = field(default_factory=list)
    broadcasts: List[Broadcast] = field(default_factory=list)
    closed: Optional[Closed] = None


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


class Control:
    """The wallet, the chain API and the HTTP session that every channel flow uses."""

    def __init__(self, wallet: Wallet, api, session: aiohttp.ClientSession, say: Callable[[str], None],
                 clock: Callable[[], float] = time.time):
        self.wallet, self.api, self.session, self.say, self.clock = wallet, api, session, say, clock
        self.spent_coins = set()  # (txid, vout) of wallet coins this process spent

    def now(self) -> int:
        return int(self.clock())

    def carry_out(self, entry: Optional[ChannelEntry], actions) -> Outcome:
        """Store each Persist at once, in order; collect the rest. A server message the core
        refused (it answers with `error`) or the server's own `error` is raised."""
        outcome = Outcome()
        for action in actions:
            if isinstance(action, Persist):
                self.wallet.persist(entry, action.record)
            elif isinstance(action, Send) and action.message["type"] == "error":
                raise BadAnswer(f"the server's answer breaks the protocol: {action.message['message']}")
            elif isinstance(action, Send):
                outcome.sends.append(action.message)
            elif isinstance(action, PeerError):
                raise ServerRefused(f"the server refused: {action.code}: {action.message}")
            elif isinstance(action, Broadcast):
                outcome.broadcasts.append(action)
            elif isinstance(action, Closed):
                outcome.closed = action
        return outcome

    async def post(self, url: str, body: bytes, headers: Optional[dict] = None) -> Answer:
        """POST `body` as JSON; the answer, its body cut at MAX_ANSWER_BYTES."""
        try:
            async with self.session.post(URL(url, encoded=True), data=body, allow_redirects=False,
                                         headers={"Content-Type": "application/json", **(headers or {})},
                                         timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as response:
                return Answer(response.status, response.headers, await response.content.read(MAX_ANSWER_BYTES))
        except (aiohttp.ClientError, TimeoutError) as e:
            raise Unreachable(f"{url} did not answer: {e or type(e).__name__}") from None

    async def exchange(self, viewer: Viewer, entry: Optional[ChannelEntry], url: str, message: dict,
                       headers: Optional[dict] = None) -> Optional[Outcome]:
        """Send one message and deliver the answer to the core; None when the server answers
        202 (it waits for the funding's confirmations: send it again later)."""
        return self.answered(viewer, entry, url, message, await self.post(url, canonical_json(message), headers))

    def answered(self, viewer: Viewer, entry: Optional[ChannelEntry], url: str, message: dict,
                 answer: Answer) -> Optional[Outcome]:
        """The server's answer to `message`, delivered to the core (see `exchange`)."""
        if answer.status == 202:
            return None
        actions = viewer.deliver(answer.body, self.now())
        if not 200 <= answer.status < 300:
            refusal = next((a for a in actions if isinstance(a, PeerError)), None)
            why = f"{refusal.code}: {refusal.message}" if refusal else f"HTTP {answer.status}"
            raise ServerRefused(f"{url} refused {message['type']}: {why}")
        return self.carry_out(entry, actions)

    async def publish(self, broadcast: Broadcast) -> Optional[str]:
        """Publish until the chain has it (T1, a released T3(0)); its txid."""
        return await broadcast_until_known(self.api, broadcast.tx, broadcast.txid, broadcast.not_before,
                                           on_wait=lambda text: self.say(f"{broadcast.txid[:16]}…: {text}"))


def channel_url(entry: ChannelEntry) -> str:
    """Where the messages of an offered channel go: …/channels/<K2>."""
    return f"{entry.origin}{entry.channels_path}/{entry.channel_key}"
