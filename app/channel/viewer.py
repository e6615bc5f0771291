"""The viewer's side of one channel, sans I/O.

States (states.py): joining → funding → refund_signed → open → closing → settling → closed,
and expired when only the refund is left. The chain's view arrives as `funding_spent`,
`spend_confirmations` and `spend_vanished`.
"""

from typing import List, Optional, Sequence

from embit.ec import PrivateKey

from . import messages, resume, states
from . import transactions as txs
from .actions import Action, Broadcast, Closed, Persist, Send, ShowFunding, ShowHold, ShowOffer
from .addresses import address_script, script_address
from .channel import Channel
from .errors import ProtocolError, BAD_MESSAGE, BAD_OFFER, BAD_REFUND
from .link import parse_link
from .offer import Offer, check_offer
from .peer import Peer
from .script import p2wpkh, p2wsh, witness_script
from .signatures import private_key


def _local(call, *args):
    """Run a check on the user's own input: its ProtocolError becomes a ValueError for the UI."""
    try:
        return call(*args)
    except ProtocolError as e:
        raise ValueError(e.message)


# Record fields kept as they are; the key, the offer, the coins and the channel are converted.
PLAIN_FIELDS = ("state", "network", "link", "capacity", "change_address", "funding_tx", "refund_tx", "amount",
                "pay_sig", "last_pay_at", "video_ms", "release_tx", "closing_txid", "end_reason", "resume_at",
                "held", "funding_acked", "metered", "started_at", "ended_at")
FIELD_DEFAULTS = {"amount": 0, "video_ms": 0, "held": False, "funding_acked": False, "metered": False}


class Viewer(Peer):
    PRE_OPEN_STATES = (states.JOINING, states.FUNDING, states.REFUND_SIGNED)

    @classmethod
    def new(cls, link: str, network: str, channel_secret: bytes,
            buried: int = states.BURIED_CONFIRMATIONS, metered: bool = False) -> "Viewer":
        """A viewer that follows share `link` on `network`, with a fresh K1 (`channel_secret`).
        `metered`: it pays per use with `authorize` (the HTTP binding), never by video time."""
        parsed = parse_link(link)
        if network not in messages.NETWORKS:
            raise ValueError(f"unknown network {network!r}")
        return cls.from_record({
            "role": "viewer", "state": states.JOINING, "network": network,
            "link": {"stream": parsed.stream, "identity_pubkey": parsed.identity_pubkey},
            "channel_secret": channel_secret.hex(), "offer": None, "utxos": None, "channel": None,
            "metered": metered,
        }, buried)

    @classmethod
    def from_record(cls, record: dict, buried: int = states.BURIED_CONFIRMATIONS) -> "Viewer":
        self = cls()
        for name in PLAIN_FIELDS:
            setattr(self, name, record.get(name, FIELD_DEFAULTS.get(name)))
        self.key: PrivateKey = private_key(bytes.fromhex(record["channel_secret"]))
        self.offer_message = record["offer"]
        self.offer: Optional[Offer] = self.offer_message and Offer.from_message(self.offer_message)
        self.utxos = record["utxos"] and [txs.Utxo(**u) for u in record["utxos"]]
        self.channel: Optional[Channel] = record["channel"] and Channel.from_record(self.offer, record["channel"])
        self.acked, self.paid_until, self._resend = 0, None, False
        self.buried = buried
        if "funding_acked" not in record:
            self._from_version_1()
        return self

    def _from_version_1(self) -> None:
        """A record written by protocol version 1: its funding was acknowledged once the channel
        opened, and `closed` meant "a spend is in the mempool" (now `settling`, until buried)."""
        self.funding_acked = self.state not in (states.JOINING, states.FUNDING, states.REFUND_SIGNED) \
            and self.funding_tx is not None
        if self.state == states.CLOSED and self.closing_txid:
            self.state = states.SETTLING

    def record(self) -> dict:
        """Everything needed to rebuild this object (contains the secret K1)."""
        return {
            "role": "viewer", **{name: getattr(self, name) for name in PLAIN_FIELDS},
            "channel_secret": self.key.secret.hex(), "offer": self.offer_message,
            "utxos": self.utxos and [{"txid": u.txid, "vout": u.vout, "value": u.value} for u in self.utxos],
            "channel": self.channel and self.channel.to_record(),
        }

    @property
    def funding_address(self) -> str:
        """P2WPKH(K1): where the user's coins go."""
        return script_address(p2wpkh(self.key.sec()), self.network)

    def funding_amount(self, capacity: int) -> int:
        """The exact amount, all fees included, that funds a channel of `capacity`."""
        return txs.funding_amount(capacity, self.offer.terms.fee_rate_sat_vb)

    def close_fee(self, change_address: Optional[str] = None) -> int:
        """What settling (any T3) costs, taken from the deposit: for `change_address`, by
        default the accepted one, else a P2WPKH change (show it before funding)."""
        terms = self.offer.terms
        return txs.close_fee(terms.payout_script, self._fee_change_script(change_address), terms.fee_rate_sat_vb)

    def refund_fee(self, change_address: Optional[str] = None) -> int:
        """What the time-locked refund T2 costs, taken from the deposit (same defaults as close_fee)."""
        return txs.refund_fee(self._fee_change_script(change_address), self.offer.terms.fee_rate_sat_vb)

    def _fee_change_script(self, change_address: Optional[str]) -> bytes:
        address = change_address or self.change_address
        if address is None:
            return p2wpkh(bytes(33))
        return _local(address_script, address, self.network)

    @property
    def balance(self) -> int:
        """What the deposit can still pay: everything but the close fee, less what was paid."""
        return self.channel.max_amount - self.amount if self.channel else 0

    def seconds_left(self, now: int) -> int:
        """Video the balance still buys, plus what is already paid ahead of `now`."""
        if not self.channel:
            return 0
        ahead = max(0, (self.paid_until or now) - now)
        return self.balance * 60 // self.offer.terms.rate_sat_per_min + ahead

    def allowed_amount(self) -> int:
        """The most the viewer may have paid so far (§5): time-justified, capped by the deposit."""
        terms = self.offer.terms
        justified = -(-terms.rate_sat_per_min * (self.video_ms + 1000 * terms.prepay_s) // 60_000)
        return min(self.channel.max_amount, max(terms.min_payment_sat, justified))

    @property
    def watched_sat(self) -> int:
        """What the video received is worth at the rate, ceil(rate * s / 60)."""
        return -(-self.offer.terms.rate_sat_per_min * self.video_ms // 60_000)

    @property
    def served_amount(self) -> int:
        """v2 §F: what the video received pays, max(min_payment_sat, watched_sat), at most what
        was paid: the amount a close signs, so prepaid time not served goes back."""
        return min(self.amount, max(self.offer.terms.min_payment_sat, self.watched_sat))

    # ---- events from the caller ----------------------------------------------

    def connected(self, now: int) -> List[Action]:
        """The data connection to the broadcaster is up: greet, or resume a funded channel with
        K1's signature and a time later than any resume before (v2 §A)."""
        now = int(now)
        if self.state in (states.JOINING, states.FUNDING):
            return [Send(messages.message("hello"))]
        if self.state in states.LIVE:
            self._resend, self.held = True, False  # a broadcaster still holding says `hold` again
            self.resume_at = max(now, (self.resume_at or 0) + 1)
            ch = self.channel
            sig = resume.signature(self.key, ch.funding.txid, ch.viewer_pubkey, self.offer.channel_pubkey, self.resume_at)
            return [Persist(self.record()),
                    Send(messages.message("resume", funding_txid=ch.funding.txid, viewer_pubkey=ch.viewer_pubkey,
                                          at=self.resume_at, sig=sig))]
        return []

    def accept(self, capacity: int, change_address: str, now: int, max_fee_rate: Optional[int] = None) -> List[Action]:
        """The user accepted the offer's rate and a deposit of `capacity` sat (§5).

        K1 and the terms are stored before the funding address is shown, so coins
        sent to it are never without their key. With `max_fee_rate` (sat/vB, from
        the glue's own fee estimate), an offer asking a higher fee rate is refused.
        """
        if self.state != states.JOINING or self.offer is None:
            raise ValueError("accept needs an offer received in state joining")
        rate = self.offer.terms.fee_rate_sat_vb
        if max_fee_rate is not None and rate > max_fee_rate:
            raise ValueError(f"the offer's fee rate of {rate} sat/vB is more than the {max_fee_rate} sat/vB "
                             "the current fee estimate allows: the fees would eat the deposit")
        if type(capacity) is not int or capacity < self.offer.terms.min_deposit_sat:
            raise ValueError(f"capacity must be an integer of at least {self.offer.terms.min_deposit_sat} sat")
        dummy = txs.Outpoint("00" * 32, 0)
        _local(Channel, self.offer, self.key.sec().hex(), dummy, capacity, change_address, 0)
        self.state, self.capacity, self.change_address = states.FUNDING, capacity, change_address
        return [Persist(self.record()), ShowFunding(self.funding_address, self.funding_amount(capacity))]

    def change_deposit(self) -> List[Action]:
        """Back from the funding address to the offer, to choose another deposit: only while no
        coin has been seen there (nothing was told to the broadcaster yet). Coins sent later for
        the old amount still fund the channel: T1 returns what exceeds the new one as change."""
        if self.state != states.FUNDING or self.utxos:
            raise ValueError("the deposit can change only while no coins have arrived")
        self.state = states.JOINING
        return [Persist(self.record()), ShowOffer(self.offer_message)]

    def funded(self, utxos: Sequence, now: int) -> List[Action]:
        """Coins paying P2WPKH(K1) arrived (dicts or Utxo with txid, vout, value): propose the channel."""
        if self.state != states.FUNDING:
            raise ValueError("funded is only meaningful in state funding")
        coins = _coins(utxos)
        self.channel = _local(self._propose, self.offer, coins, now)
        self.utxos = coins
        return [Persist(self.record()), Send(self._open_message())]

    def _propose(self, offer: Offer, coins: List[txs.Utxo], now: int) -> Channel:
        """The channel that T1 spending `coins` funds under `offer`; assigns nothing.

        Raises ValueError (the coins) or ProtocolError (the channel).
        """
        terms = offer.terms
        try:
            t1 = txs.funding_tx(coins, self._channel_script(offer), self.capacity,
                                self._change_script(), terms.fee_rate_sat_vb)
        except ValueError:
            raise ValueError("the coins do not cover the funding fee")
        if _commit_size(t1) > messages.MAX_MESSAGE_BYTES:
            raise ValueError(f"too many coins at the funding address ({len(coins)}): the signed funding "
                             "transaction would not fit in one 8 KiB message. Consolidate them or send one "
                             "payment (sweep these coins home first)")
        return Channel(offer, self.key.sec().hex(), txs.Outpoint(txs.txid(t1), 0), t1.vout[0].value,
                       self.change_address, int(now) + terms.refund_lock_s)

    def received_video(self, seconds: float) -> List[Action]:
        """`seconds` more of video arrived; payments may now grow by that much."""
        if self.state == states.OPEN and seconds > 0 and not self.held:
            self.video_ms += int(seconds * 1000)
        return []

    def tick(self, now: int) -> List[Action]:
        """Time passes: pay when due, give up on the broadcaster at the lock time."""
        now = int(now)
        if self.state in states.LIVE and now >= self.channel.lock_time:
            self.state, self.end_reason = states.EXPIRED, "refund"
            return [Persist(self.record())] + self.reload()
        if self.state == states.OPEN and not self.held:
            return self._pay(now)
        return []

    def close(self, now: int, amount: Optional[int] = None) -> List[Action]:
        """The user stops watching. K1 is kept whatever the state: coins may still arrive at
        the funding address, and `sweep` takes them home. With `amount` (v2 §F), at most what
        was paid: the channel is to settle on that payment instead, for what was really used."""
        if self.state in (states.JOINING, states.FUNDING):
            self.state, self.end_reason = states.CLOSED, "abandoned"
            return [Persist(self.record()), Closed("abandoned")]
        again = self.state == states.CLOSING and amount is not None and self.closing_txid is None
        if self.state not in (states.REFUND_SIGNED, states.OPEN) and not again:
            return []  # (a close the broadcaster has not settled yet may be signed again for another amount)
        fields = {}
        if amount is not None and self.amount:
            if not self.offer.terms.min_payment_sat <= amount <= self.amount:
                raise ValueError(f"a closing amount must be in [{self.offer.terms.min_payment_sat}, {self.amount}]")
            fields = {"amount": amount, "sig": self.channel.sign(self.key, self.channel.payment_tx(amount))}
        self.state = states.CLOSING
        return [Persist(self.record()), Send(messages.message("close", **fields))]

    def authorize(self, amount: int, now: int) -> List[Action]:
        """Metered use: sign a cumulative payment of `amount` (more than the last, at most the
        channel's capacity less the close fee); the transport sends it with the next request."""
        if not self.metered or self.state != states.OPEN:
            raise ValueError("authorize needs an open metered channel")
        if not max(self.amount + 1, self.offer.terms.min_payment_sat) <= amount <= self.channel.max_amount:
            raise ValueError(f"a payment must grow, from at least {self.offer.terms.min_payment_sat} sat, "
                             f"to at most {self.channel.max_amount} sat")
        return self._sign_payment(amount, int(now))

    def sweepable(self, utxos: Sequence) -> List[txs.Utxo]:
        """Of the coins now at P2WPKH(K1), those the viewer may take home: every one while the
        broadcaster has not acknowledged T1, afterwards those T1 does not spend (paid late,
        paid twice, or a wallet's fee bump that made a new coin)."""
        coins = _coins(utxos)
        if not self.funding_acked or self.funding_tx is None:
            return coins
        spent = {(i.txid.hex(), i.vout) for i in txs.parse_tx(self.funding_tx, BAD_MESSAGE).vin}
        return [c for c in coins if (c.txid, c.vout) not in spent]

    def sweep_fee(self, utxos: Sequence, address: str) -> int:
        """What `sweep` of these coins to `address` pays the miners (show it first)."""
        coins = self.sweepable(utxos)
        return sum(c.value for c in coins) - self._sweep_tx(coins, address).vout[0].value if coins else 0

    def sweep(self, utxos: Sequence, address: str, now: int) -> List[Action]:
        """Send the sweepable coins at P2WPKH(K1) to `address` (the way home from every failure
        before the channel holds them).

        In `refund_signed` the broadcaster may hold T1 and broadcast it: the sweep then races
        T1 and the chain keeps one. Both outcomes are safe, because the signed T2 is stored:
        if T1 wins, the viewer still gets `commit_ack` or its refund at the lock time.
        """
        coins = self.sweepable(utxos)
        if not coins:
            raise ValueError("no coins at the funding address can be swept: the channel holds them")
        tx = self._sweep_tx(coins, address)
        return [Broadcast(txs.tx_hex(txs.sign_funding(tx, coins, self.key)), txs.txid(tx))]

    def _sweep_tx(self, coins: List[txs.Utxo], address: str):
        script = _local(address_script, address, self.network)
        rate = self.offer.terms.fee_rate_sat_vb if self.offer else 1
        try:
            return txs.funding_tx(coins, script, sum(c.value for c in coins), script, rate)
        except ValueError:
            raise ValueError("these coins are worth less than the fee of sweeping them")

    def funding_spent(self, txid: str, now: int) -> List[Action]:
        """The chain has a transaction spending the channel output (T3, T3(0) or T2).

        The only way to `settling` once T1 is signed: a `closed` message is just a claim. T2
        and K1 stay until that spend is buried (`spend_confirmations`).
        """
        if self.channel is None or self.state in (states.CLOSED, states.JOINING, states.FUNDING):
            return []
        if self.state == states.SETTLING and txid == self.closing_txid:
            return []  # a settling viewer follows a spend that changed (replaced, reorganised) too
        self.state, self.closing_txid = states.SETTLING, txid
        self.ended_at = now  # for the receipt: the channel ended when this viewer saw it settle
        return [Persist(self.record()), Closed(self.end_reason or "settled", txid)]

    def spend_confirmations(self, txid: str, confirmations: int, now: int) -> List[Action]:
        """The spend of the channel output has `confirmations`: buried, the channel is closed (v2 §C)."""
        if self.state == states.SETTLING and txid == self.closing_txid and confirmations >= self.buried:
            self.state = states.CLOSED
            return [Persist(self.record())]
        return []

    def spend_vanished(self, now: int) -> List[Action]:
        """The spend seen before is gone (evicted, or a reorg): the refund duties come back."""
        if self.state != states.SETTLING:
            return []
        self.state = states.EXPIRED if int(now) >= self.channel.lock_time else states.CLOSING
        return [Persist(self.record())] + self.reload()

    def reload(self) -> List[Action]:
        """After a page load: re-broadcast what only the viewer can (T3(0) released, or T2),
        signing T1 first if the page died before it was stored."""
        signed = self._sign_funding()
        if self.state == states.CLOSING and self.release_tx:
            return signed + [self._broadcast(self.funding_tx), self._broadcast(self.release_tx)]
        if self.state == states.EXPIRED:
            return signed + [self._broadcast(self.funding_tx), self._broadcast(self.refund_tx, self.channel.lock_time)]
        return signed

    # ---- message handlers --------------------------------------------------

    def _on_offer(self, msg, now):
        offer = check_offer(msg, self.network, self.link["identity_pubkey"])
        if offer.channel_pubkey == self.key.sec().hex():
            raise ProtocolError(BAD_OFFER, "channel key must differ from the viewer key")
        if self.state == states.JOINING:
            self.offer, self.offer_message = offer, msg
            return [ShowOffer(msg)]
        if offer.terms != self.offer.terms:
            raise ProtocolError(BAD_OFFER, "the terms differ from those the user accepted")
        # A reconnected broadcaster offers a new K2, which changes T1: propose again.
        # Build the new channel first, assign after: a bad offer changes nothing.
        channel = None
        if self.utxos:
            try:
                channel = self._propose(offer, self.utxos, now)
            except ProtocolError as e:
                raise ProtocolError(BAD_OFFER, e.message)
            except ValueError as e:
                raise ProtocolError(BAD_OFFER, str(e))
        self.offer, self.offer_message = offer, msg
        if channel is None:
            return [Persist(self.record())]
        self.channel = channel
        return [Persist(self.record()), Send(self._open_message())]

    def _on_refund_sig(self, msg, now):
        if self.state == states.REFUND_SIGNED:
            return self._sign_funding() + [Send(messages.message("commit", funding_tx=self.funding_tx))]
        if self.channel is None:
            raise ProtocolError(BAD_MESSAGE, "refund_sig before open")
        ch, t2 = self.channel, self.channel.refund_tx()
        ch.verify(self.offer.channel_pubkey, msg["sig"], t2, BAD_REFUND)
        self.refund_tx = txs.tx_hex(ch.complete(t2, ch.sign(self.key, t2), msg["sig"]))
        self.state = states.REFUND_SIGNED
        stored_refund = Persist(self.record())
        return [stored_refund] + self._sign_funding() + [Send(messages.message("commit", funding_tx=self.funding_tx))]

    def _on_commit_ack(self, msg, now):
        if msg["txid"] != self.channel.funding.txid:
            raise ProtocolError(BAD_MESSAGE, "commit_ack for another transaction")
        if self.state == states.REFUND_SIGNED:
            self.state, self.funding_acked = states.OPEN, True
            return [Persist(self.record())] + self._pay(now)
        return self._resend_payment(now) + self._pay(now)

    def _on_pay_ack(self, msg, now):
        if msg["amount"] > self.amount:
            raise ProtocolError(BAD_MESSAGE, f"pay_ack for {msg['amount']}, more than was paid")
        self.acked, self.paid_until = msg["amount"], msg["paid_until"]
        return self._resend_payment(now)

    def _on_end_unfunded(self, msg, now):
        """The broadcast stopped before this viewer signed T1: nothing is at stake."""
        if self.state == states.FUNDING:
            return []
        self.state, self.end_reason = states.CLOSED, msg["reason"]
        return [Closed(msg["reason"])]

    def _on_end(self, msg, now):
        self.state, self.end_reason, self.held = states.CLOSING, msg["reason"], False
        return [Persist(self.record())]

    def _on_hold(self, msg, now):
        """The broadcaster paused the media until T1 confirms (v2 §B): no video, no payment."""
        self.held = True
        return [Persist(self.record()), ShowHold(True, msg["reason"])]

    def _on_unhold(self, msg, now):
        """T1 confirmed: the media comes back on the last payment sent again."""
        if not self.held:
            return []
        self.held = False
        again = [Send(self._pay_message())] if self.amount else []
        return [Persist(self.record()), ShowHold(False)] + again

    def _on_closed(self, msg, now):
        """The broadcaster *says* it settled: note its txid, but keep T2 and the duties of
        `closing` until the chain shows the funding output spent (`funding_spent`)."""
        self.state, self.closing_txid, self.held = states.CLOSING, msg["txid"], False
        return [Persist(self.record()), Closed(self.end_reason or "closed", msg["txid"])]

    def _on_release(self, msg, now):
        ch, t3 = self.channel, self.channel.payment_tx(0)
        ch.verify(self.offer.channel_pubkey, msg["sig"], t3, BAD_REFUND)
        self.release_tx = txs.tx_hex(ch.complete(t3, ch.sign(self.key, t3), msg["sig"]))
        self.state, self.end_reason = states.CLOSING, self.end_reason or "released"
        return [Persist(self.record())] + self.reload()

    # ---- helpers -------------------------------------------------------------

    def _sign_funding(self) -> List[Action]:
        """Sign T1 once the signed T2 is stored (§7), then store T1.

        T1 depends only on the record, so a page that died between those two writes
        signs the same T1 again here (on `refund_sig`, `reload`, `tick`).
        """
        if self.funding_tx is not None or self.refund_tx is None:
            return []
        t1 = txs.funding_tx(self.utxos, self._channel_script(), self.capacity, self._change_script(),
                            self.offer.terms.fee_rate_sat_vb)
        assert txs.txid(t1) == self.channel.funding.txid, "T1 differs from the channel's funding outpoint"
        self.funding_tx = txs.tx_hex(txs.sign_funding(t1, self.utxos, self.key))
        return [Persist(self.record())]

    def _channel_script(self, offer: Optional[Offer] = None) -> bytes:
        return p2wsh(witness_script(self.key.sec(), bytes.fromhex((offer or self.offer).channel_pubkey)))

    def _change_script(self) -> bytes:
        return address_script(self.change_address, self.network)

    def _open_message(self) -> dict:
        ch = self.channel
        return messages.message(
            "open", viewer_pubkey=ch.viewer_pubkey,
            funding={"txid": ch.funding.txid, "vout": ch.funding.vout, "value": ch.value},
            change_address=ch.change_address, refund_tx=txs.tx_hex(ch.refund_tx()))

    def _broadcast(self, tx_hex: str, not_before: Optional[int] = None) -> Broadcast:
        return Broadcast(tx_hex, txs.txid(txs.parse_tx(tx_hex, BAD_MESSAGE)), not_before)

    def _pay(self, now: int) -> List[Action]:
        """Sign and send the next cumulative payment if one is due and justified."""
        if self.metered:
            return []  # paid per use: `authorize`
        interval = self.offer.terms.pay_interval_s
        amount = self.allowed_amount()
        if amount <= self.amount or (self.last_pay_at is not None and now < self.last_pay_at + interval):
            return []
        return self._sign_payment(amount, now)

    def _sign_payment(self, amount: int, now: int) -> List[Action]:
        self.pay_sig = self.channel.sign(self.key, self.channel.payment_tx(amount))
        self.amount, self.last_pay_at = amount, now
        self.started_at = self.started_at or now  # for the receipt: watching began with the first payment
        return [Persist(self.record()), Send(self._pay_message())]

    def _pay_message(self) -> dict:
        return messages.message("pay", amount=self.amount, sig=self.pay_sig)

    def _resend_payment(self, now: int) -> List[Action]:
        """After `resume`, send the last payment again (§6 Resume).

        A duplicate changes nothing for the broadcaster, and it is the viewer's proof of
        identity: only the two parties have seen that signature. Media restarts on it,
        without paying beyond the §5 bound.
        """
        if not self._resend:
            return []
        self._resend = False
        if self.state == states.OPEN and self.amount > 0 and not self.held:
            return [Send(self._pay_message())]
        return []


def _commit_size(t1) -> int:
    """Bytes of the `commit` message carrying `t1` once signed (73-byte signatures: an upper bound)."""
    signed = len(t1.serialize()) + 2 + len(t1.vin) * (1 + sum(1 + n for n in txs.P2WPKH_WITNESS))
    return len(messages.canonical_json(messages.message("commit", funding_tx="00" * signed)))


def _coins(utxos: Sequence) -> List[txs.Utxo]:
    return [u if isinstance(u, txs.Utxo) else txs.Utxo(u["txid"], u["vout"], u["value"]) for u in utxos]


def _handlers() -> dict:
    """(state, message type) -> handler: every message a viewer takes, and where."""
    J, F, R, O, C = states.JOINING, states.FUNDING, states.REFUND_SIGNED, states.OPEN, states.CLOSING
    return {
        (J, "end"): Viewer._on_end_unfunded,
        (F, "end"): Viewer._on_end_unfunded,
        (J, "offer"): Viewer._on_offer,
        (F, "offer"): Viewer._on_offer,
        (F, "refund_sig"): Viewer._on_refund_sig,
        (R, "refund_sig"): Viewer._on_refund_sig,
        (R, "commit_ack"): Viewer._on_commit_ack,
        (O, "commit_ack"): Viewer._on_commit_ack,
        (O, "pay_ack"): Viewer._on_pay_ack,
        (C, "pay_ack"): Viewer._on_pay_ack,
        (O, "hold"): Viewer._on_hold,
        (O, "unhold"): Viewer._on_unhold,
        (R, "end"): Viewer._on_end,
        (O, "end"): Viewer._on_end,
        (C, "end"): Viewer._on_end,
        (O, "closed"): Viewer._on_closed,
        (C, "closed"): Viewer._on_closed,
        (R, "release"): Viewer._on_release,
        (O, "release"): Viewer._on_release,
        (C, "release"): Viewer._on_release,
    }


Viewer.HANDLERS = _handlers()
