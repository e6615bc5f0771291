"""The broadcaster's terms and the identity-signed `offer` that carries them (§4)."""

from dataclasses import dataclass, asdict, fields
from typing import Optional

from embit import hashes

from .addresses import address_script, dust
from .errors import ProtocolError, BAD_OFFER
from .messages import canonical_json, message, SCHEMAS
from .signatures import private_key, public_key, sign, verify

DEFAULT_SETTLE_MARGIN_S = 7200
UNCONFIRMED_MINUTES = 10  # v2 §E: what a broadcaster streams on an unconfirmed T1, by default


@dataclass(frozen=True)
class Terms:
    """What a broadcaster charges and how its channels run; the same for every viewer."""

    name: str
    network: str
    rate_sat_per_min: int
    payout_address: str
    min_deposit_sat: int
    min_payment_sat: int
    fee_rate_sat_vb: int
    refund_lock_s: int = 86_400
    pay_interval_s: int = 5
    prepay_s: int = 15
    grace_s: int = 10
    max_unconfirmed_sat: Optional[int] = None  # v2 §B; None: §E's default, 10 minutes at the rate
    confirmations: int = 0  # v2 §B: T1's confirmations before commit_ack

    def __post_init__(self):
        if self.max_unconfirmed_sat is None and type(self.rate_sat_per_min) is int \
                and type(self.min_payment_sat) is int:
            object.__setattr__(self, "max_unconfirmed_sat",
                               max(self.min_payment_sat, UNCONFIRMED_MINUTES * self.rate_sat_per_min))

    @property
    def payout_script(self) -> bytes:
        return address_script(self.payout_address, self.network)

    @property
    def settle_margin_s(self) -> int:
        """How long before L the broadcaster closes: 7,200 s, or 1/12 of the lock for short test locks."""
        return min(DEFAULT_SETTLE_MARGIN_S, self.refund_lock_s // 12)

    @property
    def first_payment_sat(self) -> int:
        """The most a viewer pays before any video: max(min_payment_sat, ceil(rate * prepay_s / 60))."""
        return max(self.min_payment_sat, -(-self.rate_sat_per_min * self.prepay_s // 60))

    def check(self) -> "Terms":
        """Form (as in an `offer`) and sense: payout of the network, payments never dust,
        and no minimum payment beyond dust or the prepaid time (it is paid before any video)."""
        try:
            schema = SCHEMAS["offer"]
            for f in fields(self):
                schema[f.name](f.name, getattr(self, f.name))
            canonical_json(asdict(self))  # a lone surrogate has no UTF-8: it could not be signed
            payout = self.payout_script
        except ProtocolError as e:
            raise ProtocolError(BAD_OFFER, e.message)
        except UnicodeEncodeError:
            raise ProtocolError(BAD_OFFER, "the terms hold text that is not Unicode (a lone surrogate)")
        if self.min_payment_sat < dust(payout):
            raise ProtocolError(BAD_OFFER, "min_payment_sat is below the payout script's dust threshold")
        prepaid = -(-self.rate_sat_per_min * self.prepay_s // 60)
        if self.min_payment_sat > max(dust(payout), prepaid):
            raise ProtocolError(BAD_OFFER, f"min_payment_sat is more than dust and more than prepay_s of video "
                                           f"({max(dust(payout), prepaid)} sat): it would be paid before any video")
        if self.max_unconfirmed_sat < self.min_payment_sat:
            raise ProtocolError(BAD_OFFER, "max_unconfirmed_sat is below min_payment_sat: no video could be served")
        return self

    @property
    def unconfirmed_s(self) -> int:
        """Seconds of video `max_unconfirmed_sat` pays for: all a viewer gets on an unconfirmed T1."""
        return self.max_unconfirmed_sat * 60 // self.rate_sat_per_min


@dataclass(frozen=True)
class Offer:
    terms: Terms
    channel_pubkey: str  # K2, hex
    identity_pubkey: str  # hex

    @classmethod
    def from_message(cls, msg: dict) -> "Offer":
        """The offer in a parsed `offer` message (unchecked: see `check_offer`). A stored offer of
        version 1 lacks v2's fields: they take their defaults, so its channel can still be settled."""
        terms = Terms(**{f.name: msg[f.name] for f in fields(Terms) if f.name in msg})
        return cls(terms, msg["channel_pubkey"], msg["identity_pubkey"])

    def message(self, identity_secret: bytes) -> dict:
        """The signed `offer` message."""
        unsigned = message("offer", **asdict(self.terms), channel_pubkey=self.channel_pubkey,
                           identity_pubkey=self.identity_pubkey)
        return {**unsigned, "sig": sign(private_key(identity_secret), _digest(unsigned), sighash=False).hex()}


def _digest(offer: dict) -> bytes:
    return hashes.sha256(canonical_json({k: v for k, v in offer.items() if k != "sig"}))


def check_offer(msg: dict, network: str, identity_pubkey: str) -> Offer:
    """The viewer's checks on a parsed `offer`: key from the link, signature, network, terms."""
    if msg["identity_pubkey"] != identity_pubkey:
        raise ProtocolError(BAD_OFFER, "identity key does not match the share link")
    identity = public_key(bytes.fromhex(identity_pubkey), BAD_OFFER)
    verify(identity, bytes.fromhex(msg["sig"]), _digest(msg), BAD_OFFER, sighash=False)
    if msg["network"] != network:
        raise ProtocolError(BAD_OFFER, f"offer is for {msg['network']}, this viewer is on {network}")
    public_key(bytes.fromhex(msg["channel_pubkey"]), BAD_OFFER)
    if msg["channel_pubkey"] == identity_pubkey:
        raise ProtocolError(BAD_OFFER, "channel key must be fresh, not the identity key")
    offer = Offer.from_message(msg)
    offer.terms.check()
    return offer
