"""The HTTP binding's wire format (docs/http-payments.md): what a paid request carries, what its
answer carries, and the strings K1 and K2 sign for them. Pure Python, no I/O: the paywall and
its client share it, and so could a page.

A paid request carries `Streamium-Payment`: the channel (K2), a sequence number never used
before on that channel, the cumulative payment with K1's signature of its T3 (the voucher), and
K1's signature over the request itself (method, target, body, Idempotency-Key), so a captured
header is good for that one request only. Its answer carries `Streamium-Receipt`: what it cost,
the channel's totals, K2's signature over them and over the body delivered.
"""

import re
from dataclasses import dataclass
from typing import Optional

from embit import hashes

from app.channel.errors import BAD_PAYMENT, ProtocolError
from app.channel.messages import signature as check_signature
from app.channel.signatures import private_key, public_key, sign, verify

PAYMENT_HEADER = "Streamium-Payment"
RECEIPT_HEADER = "Streamium-Receipt"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CHANNELS_PATH = "/.well-known/streamium/channels"  # POST: a new channel (its offer); /<K2>: open, commit, close
PROBLEM_TYPE = "application/problem+json"
MAX_HEADER_CHARS = 1024
MAX_IDEMPOTENCY_KEY_CHARS = 255
MAX_SEQ = 2**63 - 1
_ITEM = re.compile(r"\s*([a-z0-9]+)=([0-9a-f]+)\s*\Z")
_PUBKEY = re.compile(r"\A0[23][0-9a-f]{64}\Z")


class WireError(ValueError):
    """A header that is not of this binding's form (HTTP 400)."""


def _fields(text: str, names: tuple) -> dict:
    if type(text) is not str or len(text) > MAX_HEADER_CHARS:
        raise WireError(f"the header must be at most {MAX_HEADER_CHARS} characters")
    items = {}
    for part in text.split(","):
        found = _ITEM.match(part)
        if not found or found.group(1) in items:
            raise WireError("the header must be name=value pairs, each once, lowercase hex or digits")
        items[found.group(1)] = found.group(2)
    if set(items) != set(names):
        raise WireError("the header must have exactly " + ", ".join(names))
    return items


def _number(value: str, name: str, high: int) -> int:
    if not value.isdigit() or (len(value) > 1 and value[0] == "0") or int(value) > high:
        raise WireError(f"{name} must be a whole number from 0 to {high}, without leading zeros")
    return int(value)


def _digest(*parts) -> bytes:
    return hashes.sha256(":".join(str(p) for p in parts).encode("utf-8"))


def request_digest(channel: str, seq: int, amount: int, method: str, target: str, body: bytes,
                   idempotency_key: str) -> bytes:
    """What K1 signs for one request: the channel, the sequence number, the payment it goes with,
    the method, the request target exactly as sent (path and query), the body and its key."""
    return _digest("streamium-request", 2, channel, seq, amount, method.upper(), target,
                   hashes.sha256(body).hex(), idempotency_key)


def receipt_digest(channel: str, seq: int, status: int, charged: int, spent: int, signed: int, body: bytes) -> bytes:
    """What K2 signs for one answer: the request it answers, the upstream status, the charge,
    the channel's totals after it, and the body delivered."""
    return _digest("streamium-receipt", 2, channel, seq, status, charged, spent, signed, hashes.sha256(body).hex())


@dataclass(frozen=True)
class Payment:
    """The `Streamium-Payment` header of one paid request."""

    channel: str  # K2, hex: which channel pays
    seq: int  # never used before on this channel
    amount: int  # cumulative payment (the voucher), sat
    voucher: str  # K1's signature of T3(amount), DER + sighash byte, hex
    auth: str  # K1's signature of request_digest(...), DER, hex

    def header(self) -> str:
        return (f"channel={self.channel}, seq={self.seq}, amount={self.amount}, "
                f"voucher={self.voucher}, auth={self.auth}")

    @classmethod
    def parse(cls, text: str) -> "Payment":
        f = _fields(text, ("channel", "seq", "amount", "voucher", "auth"))
        if not _PUBKEY.match(f["channel"]):
            raise WireError("channel must be the channel's key K2, 66 lowercase hex characters")
        for name in ("voucher", "auth"):
            try:
                check_signature(name, f[name])
            except ProtocolError as e:
                raise WireError(e.message)
        return cls(f["channel"], _number(f["seq"], "seq", MAX_SEQ), _number(f["amount"], "amount", 21 * 10**14),
                   f["voucher"], f["auth"])

    @classmethod
    def make(cls, k1_secret: bytes, channel: str, seq: int, amount: int, voucher: str, method: str, target: str,
             body: bytes, idempotency_key: str = "") -> "Payment":
        digest = request_digest(channel, seq, amount, method, target, body, idempotency_key)
        return cls(channel, seq, amount, voucher, sign(private_key(k1_secret), digest, sighash=False).hex())

    def verify(self, k1_hex: str, method: str, target: str, body: bytes, idempotency_key: str) -> None:
        """Raise ProtocolError(bad_payment) unless K1 signed this header for exactly this request."""
        digest = request_digest(self.channel, self.seq, self.amount, method, target, body, idempotency_key)
        verify(public_key(bytes.fromhex(k1_hex), BAD_PAYMENT), bytes.fromhex(self.auth), digest, BAD_PAYMENT,
               sighash=False)


@dataclass(frozen=True)
class Receipt:
    """The `Streamium-Receipt` header of one answer to a paid request."""

    channel: str
    seq: int
    status: int  # the upstream's HTTP status (or the paywall's, when the upstream gave none)
    charged: int  # sat charged for this request: its price, or 0
    spent: int  # sat charged on the channel so far
    signed: int  # the channel's cumulative payment (the voucher held); credit left = signed - spent
    sig: str  # K2's signature of receipt_digest(...), DER, hex

    @property
    def credit(self) -> int:
        return self.signed - self.spent

    def header(self) -> str:
        return (f"channel={self.channel}, seq={self.seq}, status={self.status}, charged={self.charged}, "
                f"spent={self.spent}, signed={self.signed}, sig={self.sig}")

    @classmethod
    def parse(cls, text: str) -> "Receipt":
        f = _fields(text, ("channel", "seq", "status", "charged", "spent", "signed", "sig"))
        if not _PUBKEY.match(f["channel"]):
            raise WireError("channel must be 66 lowercase hex characters")
        try:
            check_signature("sig", f["sig"])
        except ProtocolError as e:
            raise WireError(e.message)
        money = 21 * 10**14
        return cls(f["channel"], _number(f["seq"], "seq", MAX_SEQ), _number(f["status"], "status", 999),
                   _number(f["charged"], "charged", money), _number(f["spent"], "spent", money),
                   _number(f["signed"], "signed", money), f["sig"])

    @classmethod
    def make(cls, k2_secret: bytes, channel: str, seq: int, status: int, charged: int, spent: int, signed: int,
             body: bytes) -> "Receipt":
        digest = receipt_digest(channel, seq, status, charged, spent, signed, body)
        return cls(channel, seq, status, charged, spent, signed, sign(private_key(k2_secret), digest,
                                                                      sighash=False).hex())

    def verify(self, body: bytes) -> None:
        """Raise ProtocolError(bad_payment) unless K2 (the channel in the receipt) signed it for `body`."""
        digest = receipt_digest(self.channel, self.seq, self.status, self.charged, self.spent, self.signed, body)
        verify(public_key(bytes.fromhex(self.channel), BAD_PAYMENT), bytes.fromhex(self.sig), digest, BAD_PAYMENT,
               sighash=False)


def idempotency_key(value: Optional[str]) -> str:
    """The request's Idempotency-Key ('' for none); printable ASCII, at most 255 characters."""
    if value is None:
        return ""
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY_CHARS or not all(" " <= c <= "~" for c in value):
        raise WireError(f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters")
    return value
