"""The broadcaster's side of one channel (one per viewer), sans I/O.

States (§4): offered -> refund_signed -> open -> closing -> closed.
"""

from typing import List, Optional

from . import messages
from . import transactions as txs
from .actions import Action, Broadcast, Closed, Persist, Send, StartMedia, StopMedia
from .addresses import dust
from .channel import Channel
from .errors import ProtocolError, BAD_FUNDING, BAD_PAYMENT, BAD_REFUND, CHANNEL_CLOSED, NOT_OPEN
from .offer import Offer, Terms
from .peer import Peer
from .signatures import private_key

LOCK_TIME_TOLERANCE_S = 600
MAX_FEE_FACTOR = 10


def channel_id(funding_txid: str, viewer_pubkey: str) -> str:
    """The key a broadcaster files a channel's record under, as `resume` names it."""
    return f"{funding_txid}:{viewer_pubkey}"


def check_refund(channel: Channel, tx, now: int) -> None:
    """Every §5 check on the viewer's unsigned T2, before K2 signs it."""
    terms = channel.offer.terms

    def require(ok: bool, why: str):
        if not ok:
            raise ProtocolError(BAD_REFUND, why)

    require(tx.version == txs.VERSION, "refund_tx must be version 2")
    require(len(tx.vin) == 1, "refund_tx must have exactly one input")
    inp = tx.vin[0]
    require((inp.txid.hex(), inp.vout) == (channel.funding.txid, channel.funding.vout),
            "refund_tx must spend the funding outpoint")
    require(inp.sequence == txs.SEQUENCE_REFUND, "refund_tx input must have nSequence 0xfffffffe")
    require(not inp.script_sig.data and not inp.witness.items, "refund_tx must be unsigned")
    require(len(tx.vout) == 1, "refund_tx must have exactly one output")
    out = tx.vout[0]
    require(out.script_pubkey.data == channel.change_script, "refund_tx must pay change_address")
    require(out.value >= dust(channel.change_script), "refund_tx output is dust")
    fee, vsize = channel.value - out.value, txs.signed_vsize(tx, txs.MULTISIG_WITNESS)
    rate = terms.fee_rate_sat_vb
    require(rate * vsize <= fee <= MAX_FEE_FACTOR * rate * vsize,
            f"refund fee {fee} is outside {rate * vsize}..{MAX_FEE_FACTOR * rate * vsize} sat")
    require(tx.locktime >= txs.LOCKTIME_THRESHOLD, "refund_tx nLockTime must be a time")
    require(abs(tx.locktime - (now + terms.refund_lock_s)) <= LOCK_TIME_TOLERANCE_S,
            "refund_tx nLockTime must be within 600 s of now + refund_lock_s")
    require(channel.settle_at > now + terms.pay_interval_s,
            "refund_tx nLockTime leaves no time to stream before settling (L - settle_margin_s)")


def check_funding(channel: Channel, tx) -> None:
    """Every §5 check on the viewer's signed T1 in `commit`."""
    def require(ok: bool, why: str):
        if not ok:
            raise ProtocolError(BAD_FUNDING, why)

    require(txs.txid(tx) == channel.funding.txid, "funding_tx txid differs from funding.txid")
    vout = channel.funding.vout
    require(vout < len(tx.vout), "funding_tx has no output funding.vout")
    out = tx.vout[vout]
    require(out.script_pubkey.data == channel.funding_script, "funding output is not P2WSH of the channel script")
    require(out.value == channel.value, "funding output value differs from funding.value")
    require(all(i.witness.items and not i.script_sig.data for i in tx.vin),
            "every funding input must be SegWit (witness, empty scriptSig)")


class Broadcaster(Peer):
    PRE_OPEN_STATES = ("offered", "refund_signed")

    @classmethod
    def new(cls, terms: Terms, identity_secret: bytes, channel_secret: bytes) -> "Broadcaster":
        """A channel for a viewer that said `hello`, with a fresh K2 (`channel_secret`)."""
        identity = private_key(identity_secret).sec().hex()
        offer = Offer(terms.check(), private_key(channel_secret).sec().hex(), identity)
        return cls.from_record({
            "role": "broadcaster", "state": "offered", "channel_secret": channel_secret.hex(),
            "offer": offer.message(identity_secret), "channel": None, "refund_sig": None,
            "funding_tx": None, "amount": 0, "pay_sig": None, "opened_at": None, "t0": None,
            "closing_tx": None, "release_sig": None, "end_reason": None,
        })

    @classmethod
    def from_record(cls, record: dict) -> "Broadcaster":
        self = cls()
        self.state = record["state"]
        self.offer_message = record["offer"]
        self.offer = Offer.from_message(self.offer_message)
        self.key = private_key(bytes.fromhex(record["channel_secret"]))
        self.channel = record["channel"] and Channel.from_record(self.offer, record["channel"])
        for name in ("refund_sig", "funding_tx", "amount", "pay_sig", "opened_at", "t0",
                     "closing_tx", "release_sig", "end_reason"):
            setattr(self, name, record[name])
        self.streaming = False  # a media call is up (never after a page load)
        return self

    def record(self) -> dict:
        """Everything needed to rebuild this object (contains the secret K2)."""
        return {
            "role": "broadcaster", "state": self.state, "channel_secret": self.key.secret.hex(),
            "offer": self.offer_message, "channel": self.channel and self.channel.to_record(),
            "refund_sig": self.refund_sig, "funding_tx": self.funding_tx, "amount": self.amount,
            "pay_sig": self.pay_sig, "opened_at": self.opened_at, "t0": self.t0,
            "closing_tx": self.closing_tx, "release_sig": self.release_sig, "end_reason": self.end_reason,
        }

    @property
    def channel_id(self) -> Optional[str]:
        return self.channel and channel_id(self.channel.funding.txid, self.channel.viewer_pubkey)

    @property
    def paid_until(self) -> Optional[int]:
        """t0 + amount * 60 / rate (floored); before the first payment, the time the channel opened."""
        if self.t0 is None:
            return self.opened_at
        return self.t0 + self.amount * 60 // self.offer.terms.rate_sat_per_min

    # ---- events from the caller ----------------------------------------------

    def start(self) -> List[Action]:
        """Answer the viewer's `hello`: K2 is stored before the offer leaves (§7)."""
        return [Persist(self.record()), Send(self.offer_message)]

    def tick(self, now: int) -> List[Action]:
        """Time passes: end the channel when it is unpaid, used up, or near its lock time."""
        now = int(now)
        if self.state != "open":
            return []
        if now >= self.channel.settle_at:
            return self._close("expiring")
        if self.amount == self.channel.max_amount and now >= self.paid_until:
            return self._close("exhausted")
        if now > self.paid_until + self.offer.terms.grace_s:
            return self._close("unpaid")
        return []

    def stop(self, now: int) -> List[Action]:
        """The broadcast stops: settle or release every channel, forget unfunded offers."""
        if self.state in ("refund_signed", "open"):
            return self._close("stopped")
        if self.state == "offered":
            self.state = "closed"
            return [Persist(self.record()), Send(messages.message("end", reason="stopped")), Closed("stopped")]
        return []

    def tx_accepted(self, txid: str, now: int) -> List[Action]:
        """The chain (mempool, or the configured confirmations) has accepted `txid`."""
        now = int(now)
        if self.state == "refund_signed" and self.funding_tx and txid == self.channel.funding.txid:
            self.state, self.opened_at = "open", now
            return [Persist(self.record()), Send(messages.message("commit_ack", txid=txid))]
        if self.state == "closing" and txid == self._closing_txid():
            self.state = "closed"
            return [Persist(self.record()), Send(messages.message("closed", txid=txid)),
                    Closed(self.end_reason, txid)]
        return []

    def tx_rejected(self, txid: str, reason: str, now: int) -> List[Action]:
        """The chain refused T1: the channel never opened and nobody's money moved."""
        if self.state == "refund_signed" and self.funding_tx and txid == self.channel.funding.txid:
            self.state, self.funding_tx = "closed", None
            return [Persist(self.record()), Send(messages.error(BAD_FUNDING, f"funding_tx rejected: {reason}")),
                    Closed("funding_rejected")]
        return []

    def funding_gone(self, now: int) -> List[Action]:
        """The chain says T1 will never be (or is no longer) there: double-spent, replaced or refused.

        The channel output does not exist, so no T3 can ever pay: stop the media, tell
        the viewer (`end` `stopped`) and end the channel with nothing to broadcast.
        """
        if self.state not in ("refund_signed", "open", "closing") or self.funding_tx is None:
            return []
        tell = self.state != "closing"
        after = [StopMedia()] if self.t0 is not None and tell else []
        if tell:
            after.append(Send(messages.message("end", reason="stopped")))
        self.state, self.end_reason, self.streaming = "closed", "funding_gone", False
        return [Persist(self.record())] + after + [Closed("funding_gone")]

    def reload(self) -> List[Action]:
        """After a page load: re-broadcast the closing transaction until the chain has it (§7)."""
        if self.state == "closing":
            return [Broadcast(self.closing_tx, self._closing_txid())]
        return []

    # ---- message handlers --------------------------------------------------

    def _on_hello(self, msg, now):
        return [Send(self.offer_message)]

    def _on_open(self, msg, now):
        tx = txs.parse_tx(msg["refund_tx"], BAD_REFUND)
        f = msg["funding"]
        channel = Channel(self.offer, msg["viewer_pubkey"], txs.Outpoint(f["txid"], f["vout"]), f["value"],
                          msg["change_address"], tx.locktime)
        check_refund(channel, tx, now)
        self.channel, self.refund_sig = channel, channel.sign(self.key, tx)
        self.state = "refund_signed"
        return [Persist(self.record()), Send(messages.message("refund_sig", sig=self.refund_sig))]

    def _on_commit(self, msg, now):
        tx = txs.parse_tx(msg["funding_tx"], BAD_FUNDING)
        check_funding(self.channel, tx)
        self.funding_tx = msg["funding_tx"]
        return [Persist(self.record()), Broadcast(self.funding_tx, self.channel.funding.txid)]

    def _on_pay(self, msg, now):
        amount, sig, ch = msg["amount"], msg["sig"], self.channel
        if now >= ch.settle_at:  # too late to serve more: settle on what was paid (tick would too)
            return self._close("expiring")
        if not self.offer.terms.min_payment_sat <= amount <= ch.max_amount:
            raise ProtocolError(BAD_PAYMENT, f"amount must be in [{self.offer.terms.min_payment_sat}, {ch.max_amount}]")
        if amount == self.amount:
            # A duplicate changes nothing. After a `resume` the viewer's own copy of its last
            # `pay` is also its proof of identity: that signature only ever travelled over its
            # encrypted data connection, so a stranger who knows T1 cannot produce it.
            if not self.streaming and sig == self.pay_sig:
                self.streaming = True
                return [Send(self._pay_ack()), StartMedia()]
            return [Send(self._pay_ack())]
        if amount < self.amount:
            raise ProtocolError(BAD_PAYMENT, f"amount {amount} is below the accepted {self.amount}")
        ch.verify(ch.viewer_pubkey, sig, ch.payment_tx(amount), BAD_PAYMENT)
        self.amount, self.pay_sig = amount, sig
        if self.t0 is None:
            self.t0 = now
        # Media starts on the first payment, and after a `resume` only on proof that the peer
        # is the viewer (this new signature, or the last one re-sent): anyone who saw T1 can
        # send `resume`.
        start = not self.streaming
        self.streaming = True
        return [Persist(self.record()), Send(self._pay_ack())] + ([StartMedia()] if start else [])

    def _on_close(self, msg, now):
        return self._close(None)

    def _on_resume(self, msg, now):
        ch = self.channel
        if ch is None or (msg["funding_txid"], msg["viewer_pubkey"]) != (ch.funding.txid, ch.viewer_pubkey):
            raise ProtocolError(NOT_OPEN, "no such channel here")
        if self.state == "refund_signed":
            return [Send(messages.message("refund_sig", sig=self.refund_sig))]
        if self.state == "open":
            if self.t0 is None:
                return [Send(messages.message("commit_ack", txid=ch.funding.txid))]
            # funding_txid and K1 are public once T1 is out: `resume` proves nothing, so it
            # re-sends state but starts nothing; media waits for the viewer's signed `pay`.
            stop = [StopMedia()] if self.streaming else []
            self.streaming = False
            return stop + [Send(self._pay_ack())]
        if self.state == "closing":
            return self.reload()
        if self.end_reason == "funding_gone":
            raise ProtocolError(CHANNEL_CLOSED, "the funding transaction is gone: the channel never held money")
        if self.closing_tx:
            return [Send(messages.message("closed", txid=self._closing_txid()))]
        if self.release_sig:
            return [Send(messages.message("release", sig=self.release_sig))]
        raise ProtocolError(CHANNEL_CLOSED, "the channel closed without funding")

    # ---- helpers -------------------------------------------------------------

    def _pay_ack(self) -> dict:
        return messages.message("pay_ack", amount=self.amount, paid_until=self.paid_until)

    def _closing_txid(self) -> str:
        return txs.txid(txs.parse_tx(self.closing_tx, BAD_FUNDING))

    def _close(self, reason: Optional[str]) -> List[Action]:
        """Settle on the best T3, or release with T3(0) if nothing was paid (§6)."""
        ch = self.channel
        after = [StopMedia()] if self.t0 is not None else []
        self.streaming = False
        if reason:
            after.append(Send(messages.message("end", reason=reason)))
        self.end_reason = reason or "viewer_closed"
        if self.amount:
            tx = ch.payment_tx(self.amount)
            ch.complete(tx, self.pay_sig, ch.sign(self.key, tx))
            self.state, self.closing_tx = "closing", txs.tx_hex(tx)
            return [Persist(self.record())] + after + [Broadcast(self.closing_tx, txs.txid(tx))]
        self.state, self.release_sig = "closed", ch.sign(self.key, ch.payment_tx(0))
        return [Persist(self.record())] + after + [Send(messages.message("release", sig=self.release_sig)),
                                                   Closed(self.end_reason)]


Broadcaster.HANDLERS = {
    ("offered", "hello"): Broadcaster._on_hello,
    ("offered", "open"): Broadcaster._on_open,
    ("refund_signed", "commit"): Broadcaster._on_commit,
    ("refund_signed", "close"): Broadcaster._on_close,
    ("open", "pay"): Broadcaster._on_pay,
    ("open", "close"): Broadcaster._on_close,
    **{(s, "resume"): Broadcaster._on_resume for s in ("refund_signed", "open", "closing", "closed")},
}
