"""The broadcaster's side of one channel (one per viewer), sans I/O.

States (states.py): offered → refund_signed → open → closing → settling → closed.
The chain's view arrives as events (`funding_inputs`, `tx_accepted`, `tx_confirmations`,
`funding_gone`, `funding_missing`, `funding_spent`, `spend_vanished`); `watch` says what
to ask the chain about.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from . import messages, resume, states
from . import transactions as txs
from .actions import Action, Broadcast, Closed, LookUpInputs, Persist, Send, StartMedia, StopMedia
from .addresses import dust
from .channel import Channel
from .errors import CreditRefused, ProtocolError, BAD_FUNDING, BAD_MESSAGE, BAD_PAYMENT, BAD_REFUND, CHANNEL_CLOSED, \
    NOT_OPEN
from .offer import Offer, Terms
from .peer import Peer
from .signatures import private_key

LOCK_TIME_TOLERANCE_S = 600
MAX_FEE_FACTOR = 10
# Record fields kept as they are; `state`, the key, the offer and the channel are converted.
PLAIN_FIELDS = ("refund_sig", "funding_tx", "amount", "pay_sig", "opened_at", "t0", "closing_tx", "release_sig",
                "end_reason", "last_resume_at", "funding_confirmations", "held_since", "held_s", "spent_by",
                "funding_lost", "funding_conflict", "metered", "spent", "ended_at")
FIELD_DEFAULTS = {"amount": 0, "held_s": 0, "funding_lost": False, "metered": False, "spent": 0}
LOST_AFTER_L_S = 2 * 3600  # a lost T1 with no conflict seen: watched this long past L (MTP lags ~1 h)
UNSETTLED = (states.REFUND_SIGNED, states.OPEN, states.CLOSING, states.SETTLING)  # T1 can still be replaced


def channel_id(funding_txid: str, viewer_pubkey: str, channel_pubkey: str) -> str:
    """The key a broadcaster files a channel's record under. K2 is part of it: the funding
    txid and K1 are public, so a stranger's `open` may name them too, and must not take the
    place of the real channel."""
    return f"{funding_txid}:{viewer_pubkey}:{channel_pubkey}"


@dataclass(frozen=True)
class ChainWatch:
    """What the page must ask the chain about this channel, and report back.

    - `funding_txid` (with `funding_inputs`): T1 while it is not yet confirmed, or lost with
      a payment on it: its confirmations (`tx_confirmations`, 0 included), or who spent its
      inputs instead (`funding_gone` with that txid, then `tx_confirmations` of it), or that
      it is unknown with its inputs unspent (`funding_missing`);
    - `outpoint`: the channel output once open: who spends it (`funding_spent`,
      `tx_confirmations` of that spend), or that a spend seen before is gone (`spend_vanished`).
    """

    funding_txid: Optional[str] = None
    funding_inputs: Tuple[Tuple[str, int], ...] = ()
    outpoint: Optional[Tuple[str, int]] = None


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
    """Every §5 check on the viewer's signed T1 in `commit` that needs no chain."""
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


def check_funding_fee(tx, values: Sequence[Optional[int]], fee_rate: int) -> None:
    """v2 §B: T1's fee over its vsize, by the chain's values of its inputs, is the offer's rate or more."""
    if len(values) != len(tx.vin) or any(type(v) is not int or v < 0 for v in values):
        raise ProtocolError(BAD_FUNDING, "the chain does not know every coin funding_tx spends")
    fee = sum(values) - sum(out.value for out in tx.vout)
    vsize = txs.vsize(tx)
    if fee < fee_rate * vsize:
        raise ProtocolError(BAD_FUNDING, f"funding_tx pays {fee} sat for {vsize} vB, below the offer's "
                                         f"{fee_rate} sat/vB")


class Broadcaster(Peer):
    PRE_OPEN_STATES = (states.OFFERED, states.REFUND_SIGNED)
    UNHEARD_STATES = (states.OFFERED,)

    @classmethod
    def new(cls, terms: Terms, identity_secret: bytes, channel_secret: bytes,
            buried: int = states.BURIED_CONFIRMATIONS, taken=None, metered: bool = False) -> "Broadcaster":
        """A channel for a viewer that said `hello`, with a fresh K2 (`channel_secret`).
        `taken(funding_txid, viewer_pubkey)` says whether that funding already has a channel
        here: an `open` naming it is refused (someone else's funding, or a second try).
        `metered`: paid per use (the HTTP binding) through `admit`/`charge`, not by media time."""
        identity = private_key(identity_secret).sec().hex()
        offer = Offer(terms.check(), private_key(channel_secret).sec().hex(), identity)
        record = {"role": "broadcaster", "state": states.OFFERED, "channel_secret": channel_secret.hex(),
                  "offer": offer.message(identity_secret), "channel": None, "metered": metered}
        self = cls.from_record(record, buried)
        self.taken = taken
        return self

    @classmethod
    def from_record(cls, record: dict, buried: int = states.BURIED_CONFIRMATIONS) -> "Broadcaster":
        self = cls()
        self.state = record["state"]
        self.offer_message = record["offer"]
        self.offer = Offer.from_message(self.offer_message)
        self.key = private_key(bytes.fromhex(record["channel_secret"]))
        self.channel = record["channel"] and Channel.from_record(self.offer, record["channel"])
        for name in PLAIN_FIELDS:
            setattr(self, name, record.get(name, FIELD_DEFAULTS.get(name)))
        self.buried, self.taken = buried, None
        self.streaming = False  # a media call is up (never after a page load)
        self.reserved = 0  # metered: credit held by requests in flight (none survive a restart)
        _from_version_1(self, record)
        return self

    def record(self) -> dict:
        """Everything needed to rebuild this object (contains the secret K2)."""
        return {"role": "broadcaster", "state": self.state, "channel_secret": self.key.secret.hex(),
                "offer": self.offer_message, "channel": self.channel and self.channel.to_record(),
                **{name: getattr(self, name) for name in PLAIN_FIELDS}}

    # ---- what the page reads -------------------------------------------------

    @property
    def channel_id(self) -> Optional[str]:
        ch = self.channel
        return ch and channel_id(ch.funding.txid, ch.viewer_pubkey, self.offer.channel_pubkey)

    @property
    def paid_until(self) -> Optional[int]:
        """t0 + time held + amount * 60 / rate (floored); before the first payment, when it opened."""
        if self.t0 is None:
            return self.opened_at
        return self.t0 + self.held_s + self.amount * 60 // self.offer.terms.rate_sat_per_min

    @property
    def held(self) -> bool:
        """Media paused until T1 confirms (v2 §B)."""
        return self.held_since is not None

    @property
    def funding_confirmed(self) -> bool:
        return (self.funding_confirmations or 0) >= 1

    @property
    def wants_funding_published(self) -> bool:
        """T1 is worth publishing (again): unconfirmed, and the channel may still settle on it."""
        return bool(self.funding_tx) and not self.funding_confirmed and self.state in UNSETTLED

    @property
    def closing_txid(self) -> Optional[str]:
        return self.closing_tx and txs.txid(txs.parse_tx(self.closing_tx, BAD_FUNDING))

    @property
    def settled_by(self) -> Optional[str]:
        """The txid that spends (or will spend) the channel: another's, our T3, or the T3(0) we
        released; for a lost funding, what spent T1's input instead."""
        if self.funding_lost:
            return self.funding_conflict
        if self.spent_by or self.closing_tx:
            return self.spent_by or self.closing_txid
        return self.release_sig and self.channel and txs.txid(self.channel.payment_tx(0))

    @property
    def earned(self) -> int:
        """What this channel pays the broadcaster: nothing while its funding is lost or if another
        transaction (the viewer's refund, say) spent it."""
        return 0 if self.funding_lost or self.spent_by else self.amount

    def served_s(self, now: int) -> int:
        """Seconds of media served: from the first payment on, less any time held."""
        if self.t0 is None:
            return 0
        held = self.held_s + (now - self.held_since if self.held else 0)
        return max(0, now - self.t0 - held)

    def owed(self, now: int) -> int:
        """The least the viewer owes for what it got (v2 §F): on a metered channel the requests
        charged or in flight; else the media served less one pay interval, at the rate."""
        if self.metered:
            return self.spent + self.reserved
        served = self.served_s(now) - self.offer.terms.pay_interval_s
        return max(0, -(-self.offer.terms.rate_sat_per_min * served // 60))

    # ---- metered use: the ledger of a channel paid per request ----------------

    def admit(self, price: int, now: int) -> None:
        """Reserve `price` of the signed credit for one request, or raise CreditRefused and change
        nothing. Admitted while spent + reserved + price <= the amount signed, and, on an
        unconfirmed T1, <= max_unconfirmed_sat (v2 §B's bounded exposure, counted in sats)."""
        if self.state != states.OPEN:
            reason = "not_open" if self.state in self.PRE_OPEN_STATES else "closed"
            raise CreditRefused(reason, f"the channel is {self.state}")
        if int(now) >= self.channel.settle_at:
            raise CreditRefused("expiring", "the channel settles now: its refund time is near")
        need = self.spent + self.reserved + price
        if need > self.amount:
            raise CreditRefused("no_credit", f"{need} sat needed, {self.amount} sat signed")
        limit = self.offer.terms.max_unconfirmed_sat
        if not self.funding_confirmed and need > limit:
            raise CreditRefused("unconfirmed", f"{need} sat needed, {limit} sat allowed until the funding confirms")
        self.reserved += price

    def charge(self, price: int) -> None:
        """The admitted request was delivered: its reserved `price` is spent. The caller writes
        the charge to its ledger before the answer leaves, and restores `spent` from it (a whole
        record a request would be most of the cost of a cheap one)."""
        self.reserved -= price
        self.spent += price

    def release(self, price: int) -> None:
        """The admitted request was not delivered (upstream failed): its credit is free again."""
        self.reserved -= price

    @property
    def watch(self) -> ChainWatch:
        short = self.state == states.REFUND_SIGNED and self.funding_confirmations is not None \
            and self.funding_confirmations < self.offer.terms.confirmations  # commit_ack waits for depth
        watching_t1 = self.funding_tx and self.funding_confirmations is not None and (short or (
            not self.funding_confirmed and self.state in UNSETTLED))
        t1 = txs.parse_tx(self.funding_tx, BAD_FUNDING) if watching_t1 else None
        spendable = self.state in (states.OPEN, states.CLOSING, states.SETTLING) and self.channel is not None \
            and not self.funding_lost
        return ChainWatch(
            funding_txid=self.channel.funding.txid if t1 else None,
            funding_inputs=tuple((i.txid.hex(), i.vout) for i in t1.vin) if t1 else (),
            outpoint=(self.channel.funding.txid, self.channel.funding.vout) if spendable else None)

    # ---- events from the caller ----------------------------------------------

    def start(self) -> List[Action]:
        """Answer the viewer's `hello`: K2 is stored before the offer leaves (§7)."""
        return [Persist(self.record()), Send(self.offer_message)]

    def tick(self, now: int) -> List[Action]:
        """Time passes: end the channel when it is unpaid, used up, near its lock time;
        pause the media when it used up what an unconfirmed T1 may carry (v2 §B)."""
        now = int(now)
        if self.funding_lost and self.funding_conflict is None and now >= self.channel.lock_time + LOST_AFTER_L_S:
            self.state = states.CLOSED  # T1 not back well after L: the viewer's refund is final, a T3 too late
            return [Persist(self.record())]
        if self.state != states.OPEN:
            return []
        if now >= self.channel.settle_at:
            return self._close("expiring", now)
        if self.metered:
            return []  # paid per use: time decides nothing else (the transport closes idle channels)
        if self.held:
            return []
        if self.t0 is not None and not self.funding_confirmed and self.served_s(now) >= self.offer.terms.unconfirmed_s:
            return self._hold(now)
        if self.amount == self.channel.max_amount and now >= self.paid_until:
            return self._close("exhausted", now)
        if now > self.paid_until + self.offer.terms.grace_s:
            return self._close("unpaid", now)
        return []

    def stop(self, now: int) -> List[Action]:
        """The broadcast stops: settle or release every channel, forget unfunded offers."""
        if self.state in (states.REFUND_SIGNED, states.OPEN):
            return self._close("stopped", now)
        if self.state == states.OFFERED:
            self.state = states.CLOSED
            return [Persist(self.record()), Send(messages.message("end", reason="stopped")), Closed("stopped")]
        return []

    def funding_inputs(self, values: Sequence[Optional[int]], now: int) -> List[Action]:
        """The chain's values of T1's inputs (None: unknown coin), as `LookUpInputs` asked."""
        if self.state != states.REFUND_SIGNED or not self.funding_tx or self.funding_confirmations is not None:
            return []
        try:
            check_funding_fee(txs.parse_tx(self.funding_tx, BAD_FUNDING), values, self.offer.terms.fee_rate_sat_vb)
        except ProtocolError as e:
            self.funding_tx = None
            return [Persist(self.record()), Send(messages.error(e.code, e.message))]
        return [Broadcast(self.funding_tx, self.channel.funding.txid)]

    def tx_accepted(self, txid: str, now: int) -> List[Action]:
        """The chain has `txid` (in its mempool at least)."""
        if txid == self._funding_txid() and self.funding_confirmations is None:
            return self.tx_confirmations(txid, 0, now)
        if self.state == states.CLOSING and txid == self.closing_txid:
            return self.funding_spent(txid, now)
        return []

    def tx_confirmations(self, txid: str, confirmations: int, now: int) -> List[Action]:
        """`txid` (T1, or what spends the channel) has `confirmations` (0: in the mempool)."""
        now = int(now)
        if self.state == states.CLOSED:
            return []  # forgotten (or about to be): nothing the chain says can bring it back
        if txid == self._funding_txid() and self.funding_tx:
            return self._funding_seen(confirmations, now)
        if self.state == states.SETTLING and txid == self.settled_by and confirmations >= self.buried:
            self.state = states.CLOSED
            return [Persist(self.record())]
        return []

    def tx_rejected(self, txid: str, reason: str, now: int) -> List[Action]:
        """The chain refused T1: the channel never opened and nobody's money moved."""
        if self.state == states.REFUND_SIGNED and self.funding_tx and txid == self.channel.funding.txid:
            self.state, self.funding_tx = states.CLOSED, None
            return [Persist(self.record()), Send(messages.error(BAD_FUNDING, f"funding_tx rejected: {reason}")),
                    Closed("funding_rejected")]
        return []

    def funding_gone(self, now: int, conflict: Optional[str] = None) -> List[Action]:
        """`conflict` spent an input of unconfirmed T1, or (None) a payment T1 spends is itself
        gone (v2 §B): T1 is replaced or double-spent, or evicted with its parent.

        Stop the media and tell the viewer (`end` `funding_gone`). An unpaid channel ends. A
        paid one is `settling` with `funding_lost`, its T3 kept (v2 §C): a conflict can be
        evicted and an evicted parent come back, and T1 with them. It is forgotten once the
        conflict is buried, or two hours after L when no conflict was seen.
        """
        if self.funding_lost:
            if conflict != self.funding_conflict:  # each round says what spends T1's inputs now
                self.funding_conflict = conflict
                return [Persist(self.record())]
            return []
        if self.state not in UNSETTLED or self.funding_tx is None or self.funding_confirmed:
            return []
        tell = self.state in (states.REFUND_SIGNED, states.OPEN)
        after = [StopMedia()] if self.streaming or (self.t0 is not None and tell) else []
        if tell:
            after.append(Send(messages.message("end", reason="funding_gone")))
            self.ended_at = now
        self.end_reason, self.streaming, self.held_since = "funding_gone", False, None
        if self.amount:
            self.state, self.funding_lost, self.funding_conflict = states.SETTLING, True, conflict
        else:
            self.state = states.CLOSED
        return [Persist(self.record())] + after + [Closed("funding_gone")]

    def funding_missing(self, now: int) -> List[Action]:
        """T1 is unknown to the chain and its inputs unspent (evicted, or never relayed; for a lost
        funding, its conflict gone): publish it again."""
        if self.funding_lost:
            changed = self.funding_conflict is not None
            self.funding_conflict = None
            again = [Broadcast(self.funding_tx, self.channel.funding.txid)]
            return ([Persist(self.record())] if changed else []) + again
        if self.funding_tx and self.funding_confirmations is not None and not self.funding_confirmed \
                and self.state in UNSETTLED:
            return [Broadcast(self.funding_tx, self.channel.funding.txid)]
        return []

    def funding_spent(self, txid: str, now: int) -> List[Action]:
        """The chain has `txid` spending the channel output: ours (T3), or another (the viewer's
        T2 after L, a T3 of an older copy of this page): then that is recorded, the media stops
        and ours is no longer re-broadcast (v2 §C)."""
        if self.state not in (states.REFUND_SIGNED, states.OPEN, states.CLOSING, states.SETTLING) \
                or self.channel is None or self.funding_lost:
            return []
        if self.state == states.SETTLING and txid == self.settled_by:
            return []
        ours = txid == self.closing_txid or (not self.closing_tx and txid == self.settled_by)
        after = [StopMedia()] if self.streaming else []
        if self.state in (states.REFUND_SIGNED, states.OPEN):
            after.append(Send(messages.message("end", reason="stopped")))
            self.end_reason, self.ended_at = "spent_elsewhere", now
        self.state, self.spent_by, self.streaming, self.held_since = states.SETTLING, None if ours else txid, False, None
        if ours and self.closing_tx:
            after.append(Send(messages.message("closed", txid=txid)))
        return [Persist(self.record())] + after + [Closed(self.end_reason if ours else "spent_elsewhere", txid)]

    def spend_vanished(self, now: int) -> List[Action]:
        """The spend seen before no longer spends the channel output (evicted, or a reorg):
        back to closing, re-broadcasting our T3 (T1 first if it is unconfirmed)."""
        if self.state != states.SETTLING or self.funding_lost:
            return []
        changed, self.spent_by = self.spent_by is not None, None
        if not self.closing_tx and not self.amount:
            return [Persist(self.record())] if changed else []  # a release: the viewer's to publish
        if not self.closing_tx:
            self._sign_best()  # another's spend took an open channel, then vanished: settle after all
        self.state = states.CLOSING
        return [Persist(self.record())] + self.reload()

    def reload(self) -> List[Action]:
        """After a page load, or a spend gone: publish what protects the broadcaster (§7, v2 §B/§C),
        or look T1's inputs up again if the page died before it could publish T1."""
        if self.state == states.CLOSING and self.closing_tx:
            return self._funding_first() + [Broadcast(self.closing_tx, self.closing_txid)]
        if self.state == states.REFUND_SIGNED and self.funding_tx and self.funding_confirmations is None:
            t1 = txs.parse_tx(self.funding_tx, BAD_FUNDING)
            return [LookUpInputs(tuple((i.txid.hex(), i.vout) for i in t1.vin))]
        return []

    def resume(self, msg: dict, now: int) -> List[Action]:
        """An authenticated `resume` (v2 §A); raises ProtocolError (`not_open`) and changes
        nothing unless K1 signed it, recently, later than the last one accepted."""
        if self.channel is None:
            raise ProtocolError(NOT_OPEN, "no such channel here")
        resume.check(msg, self.channel, self.last_resume_at, int(now))
        self.last_resume_at = msg["at"]
        return [Persist(self.record())] + self._resumed()

    # ---- message handlers --------------------------------------------------

    def _on_hello(self, msg, now):
        return [Send(self.offer_message)]

    def _on_open(self, msg, now):
        tx = txs.parse_tx(msg["refund_tx"], BAD_REFUND)
        f = msg["funding"]
        if self.taken and self.taken(f["txid"], msg["viewer_pubkey"]):
            raise ProtocolError(BAD_FUNDING, "this funding already has a channel here")
        channel = Channel(self.offer, msg["viewer_pubkey"], txs.Outpoint(f["txid"], f["vout"]), f["value"],
                          msg["change_address"], tx.locktime)
        check_refund(channel, tx, now)
        self.channel, self.refund_sig = channel, channel.sign(self.key, tx)
        self.state = states.REFUND_SIGNED
        return [Persist(self.record()), Send(messages.message("refund_sig", sig=self.refund_sig))]

    def _on_commit(self, msg, now):
        if self.funding_confirmations is not None:  # T1 is out: a repeated commit changes nothing
            return self._funding_seen(self.funding_confirmations, now)
        tx = txs.parse_tx(msg["funding_tx"], BAD_FUNDING)
        check_funding(self.channel, tx)
        self.funding_tx = msg["funding_tx"]
        return [Persist(self.record()), LookUpInputs(tuple((i.txid.hex(), i.vout) for i in tx.vin))]

    def _on_pay(self, msg, now):
        amount, sig, ch = msg["amount"], msg["sig"], self.channel
        if now >= ch.settle_at:  # too late to serve more: settle on what was paid (tick would too)
            return self._close("expiring", now)
        if not self.offer.terms.min_payment_sat <= amount <= ch.max_amount:
            raise ProtocolError(BAD_PAYMENT, f"amount must be in [{self.offer.terms.min_payment_sat}, {ch.max_amount}]")
        if amount == self.amount:
            # A duplicate changes nothing. After a `resume` or an `unhold`, the viewer's own copy of
            # its last `pay` is what restarts the media: only the two parties have seen that signature.
            if not self.streaming and not self.held and sig == self.pay_sig:
                self.streaming = True
                return [Send(self._pay_ack()), StartMedia()]
            return [Send(self._pay_ack())]
        if amount < self.amount:
            raise ProtocolError(BAD_PAYMENT, f"amount {amount} is below the accepted {self.amount}")
        ch.verify(ch.viewer_pubkey, sig, ch.payment_tx(amount), BAD_PAYMENT)
        self.amount, self.pay_sig = amount, sig
        if self.t0 is None:
            self.t0 = now
        start = not self.streaming and not self.held
        self.streaming = self.streaming or start
        return [Persist(self.record()), Send(self._pay_ack())] + ([StartMedia()] if start else [])

    def _on_close(self, msg, now):
        """Settle on the best T3; with v2 §F's `amount` and `sig`, on that lower payment when it
        covers what was served and K1 signed it."""
        if ("amount" in msg) != ("sig" in msg):
            raise ProtocolError(BAD_MESSAGE, "close carries amount and sig together, or neither")
        if "amount" in msg and self.amount and self.covers(msg["amount"], msg["sig"], now):
            self.amount, self.pay_sig = msg["amount"], msg["sig"]
        return self._close(None, now)

    def covers(self, amount: int, sig: str, now: int) -> bool:
        """v2 §F: `amount` pays at least what was served, at most what was paid, and K1 signed it."""
        if not max(self.offer.terms.min_payment_sat, self.owed(now)) <= amount <= self.amount:
            return False
        ch = self.channel
        try:
            ch.verify(ch.viewer_pubkey, sig, ch.payment_tx(amount), BAD_PAYMENT)
        except ProtocolError:
            return False
        return True

    def _on_resume(self, msg, now):
        return self.resume(msg, now)

    # ---- helpers -------------------------------------------------------------

    def _resumed(self) -> List[Action]:
        """What a viewer that resumed hears again, by state. Media waits for its `pay`."""
        ch = self.channel
        if self.state == states.REFUND_SIGNED:
            return [Send(messages.message("refund_sig", sig=self.refund_sig))]
        if self.state == states.OPEN:
            if self.t0 is None:
                return [Send(messages.message("commit_ack", txid=ch.funding.txid))]
            stop = [StopMedia()] if self.streaming else []
            self.streaming = False
            hold = [Send(messages.message("hold", reason="unconfirmed"))] if self.held else []
            return stop + [Send(self._pay_ack())] + hold
        if self.state == states.CLOSING:
            return self.reload()
        if self.funding_lost or (self.end_reason == "funding_gone" and not self.closing_tx):
            raise ProtocolError(CHANNEL_CLOSED, "the funding transaction is gone: the channel holds no money")
        if self.closing_tx:
            return [Send(messages.message("closed", txid=self.spent_by or self.closing_txid))]
        if self.release_sig:
            return [Send(messages.message("release", sig=self.release_sig))]
        raise ProtocolError(CHANNEL_CLOSED, "the channel closed without funding")

    def _funding_txid(self) -> Optional[str]:
        return self.channel and self.channel.funding.txid

    def _funding_seen(self, confirmations: int, now: int) -> List[Action]:
        """T1 has `confirmations`: open once it has the offer's number; resume media held for it."""
        before = self.funding_confirmations
        self.funding_confirmations = max(confirmations, before or 0)
        if self.funding_lost:
            return self._funding_back()
        if self.state == states.REFUND_SIGNED and self.funding_confirmations >= self.offer.terms.confirmations:
            self.state, self.opened_at = states.OPEN, now
            return [Persist(self.record()), Send(messages.message("commit_ack", txid=self.channel.funding.txid))]
        if self.held and self.funding_confirmed:
            self.held_s, self.held_since = self.held_s + now - self.held_since, None
            return [Persist(self.record()), Send(messages.message("unhold"))]
        return [Persist(self.record())] if self.funding_confirmations != before else []

    def _funding_back(self) -> List[Action]:
        """A lost T1 is on the chain again: settle on the best T3 after all (T1 first)."""
        self.funding_lost, self.funding_conflict = False, None
        if not self.closing_tx:
            self._sign_best()
        self.state = states.CLOSING
        return [Persist(self.record())] + self.reload()

    def _sign_best(self) -> None:
        tx = self.channel.payment_tx(self.amount)
        self.channel.complete(tx, self.pay_sig, self.channel.sign(self.key, tx))
        self.closing_tx = txs.tx_hex(tx)

    def _hold(self, now: int) -> List[Action]:
        """v2 §B: no media beyond what max_unconfirmed_sat pays until T1 confirms."""
        self.held_since, self.streaming = now, False
        return [Persist(self.record()), StopMedia(), Send(messages.message("hold", reason="unconfirmed"))]

    def _funding_first(self) -> List[Action]:
        """T1 goes out before T3 while it is unconfirmed (v2 §B): a T3 is worthless without it."""
        if self.funding_tx and not self.funding_confirmed:
            return [Broadcast(self.funding_tx, self.channel.funding.txid)]
        return []

    def _pay_ack(self) -> dict:
        return messages.message("pay_ack", amount=self.amount, paid_until=self.paid_until)

    def _close(self, reason: Optional[str], now: int) -> List[Action]:
        """Settle on the best T3, or release with T3(0) if nothing was paid (§6). A release of a
        funded channel is watched like a T3 until the spend is buried, so a viewer that missed
        the `release` gets it again on resume."""
        ch = self.channel
        after = [StopMedia()] if self.t0 is not None else []
        if self.held:
            self.held_s += now - self.held_since
        self.streaming, self.held_since = False, None
        if reason:
            after.append(Send(messages.message("end", reason=reason)))
        self.end_reason, self.ended_at = reason or "viewer_closed", now
        if self.amount:
            self._sign_best()
            self.state = states.CLOSING
            return [Persist(self.record())] + after + self.reload()
        self.release_sig = ch.sign(self.key, ch.payment_tx(0))
        self.state = states.CLOSED if self.funding_confirmations is None else states.SETTLING
        return [Persist(self.record())] + after + [Send(messages.message("release", sig=self.release_sig)),
                                                   Closed(self.end_reason)]


Broadcaster.HANDLERS = {
    (states.OFFERED, "hello"): Broadcaster._on_hello,
    (states.OFFERED, "open"): Broadcaster._on_open,
    (states.REFUND_SIGNED, "commit"): Broadcaster._on_commit,
    (states.REFUND_SIGNED, "close"): Broadcaster._on_close,
    (states.OPEN, "pay"): Broadcaster._on_pay,
    (states.OPEN, "close"): Broadcaster._on_close,
    **{(s, "resume"): Broadcaster._on_resume
       for s in (states.REFUND_SIGNED, states.OPEN, states.CLOSING, states.SETTLING, states.CLOSED)},
}


def _from_version_1(b: "Broadcaster", record: dict) -> None:
    """A record written by protocol version 1 has none of v2's fields: `closed` meant "T3 in the
    mempool" (now `settling`, until buried), and an open channel's T1 was never watched."""
    if "held_s" in record:
        return
    if b.state == states.CLOSED and b.closing_tx:
        b.state = states.SETTLING
    if b.state in (states.OPEN, states.CLOSING) and b.funding_confirmations is None:
        b.funding_confirmations = 0
