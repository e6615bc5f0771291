"""The HTTP binding's wire format (docs/http-payments.md): what a paid request carries, what its
answer carries, and the strings K1 and K2 sign for them. Pure Python, no I/O: the paywall and
its client share it, and so could a page.

A paid request carries `Streamium-Payment`: the channel (K2), a sequence number never used
before on that channel, the cumulative payment with K1's signature of its T3 (the voucher), and
a MAC over the request itself (method, target, body, Idempotency-Key) under a key only K1 and K2
can compute (ECDH), so a captured header is good for that one request only. Its answer carries
`Streamium-Receipt`: what it cost, the channel's totals, K2's signature over them and over the
body delivered (a signature: the client can show it to anyone).
"""

import fnmatch
import hmac
import re
from dataclasses import dataclass
from typing import Optional

from embit import ec, hashes

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
_NUMBER = r"(0|[1-9][0-9]{0,18})"
_HEX = r"([0-9a-f]+)"
_KEY = r"(0[23][0-9a-f]{64})"
# Each header in exactly one form (the order and the ", " between fields are part of it): one
# match parses it, and a header made another way is refused rather than guessed at.
_PAYMENT = re.compile(rf"channel={_KEY}, seq={_NUMBER}, amount={_NUMBER}, voucher={_HEX}, auth=([0-9a-f]{{64}})")
_RECEIPT = re.compile(rf"channel={_KEY}, seq={_NUMBER}, status={_NUMBER}, charged={_NUMBER}, spent={_NUMBER}, "
                      rf"signed={_NUMBER}, sig={_HEX}")
MAX_AMOUNT = 21 * 10**14


class WireError(ValueError):
    """A header that is not of this binding's form (HTTP 400)."""


def _match(pattern, text, form: str):
    found = pattern.fullmatch(text) if type(text) is str and len(text) <= MAX_HEADER_CHARS else None
    if found is None:
        raise WireError(f"the header must be exactly {form}, lowercase hex, whole numbers without leading zeros")
    return found.groups()


def _signature(value: str, name: str) -> str:
    try:
        check_signature(name, value)
    except ProtocolError as e:
        raise WireError(e.message)
    return value


def _at_most(value: str, name: str, high: int) -> int:
    if int(value) > high:
        raise WireError(f"{name} must be at most {high}")
    return int(value)


def _digest(*parts) -> bytes:
    return hashes.sha256(":".join(str(p) for p in parts).encode("utf-8"))


def route_matches(route: str, method: str, path: str) -> bool:
    """Whether a quote's route, `METHOD PATH-GLOB` (`*`: any method; the glob's `*` spans `/`),
    prices a request: the one reading of it, the paywall's and its clients'."""
    route_method, _, glob = route.partition(" ")
    return route_method in ("*", method.upper()) and fnmatch.fnmatchcase(path, glob)


def request_key(secret: bytes, peer_pubkey: str) -> bytes:
    """The key of a channel's request MACs, the same from either side: K1's secret with K2, or
    K2's with K1 (libsecp256k1's ECDH, the SHA-256 of the shared point, then tagged)."""
    shared = private_key(secret).ecdh(ec.PublicKey.parse(bytes.fromhex(peer_pubkey)))
    return hashes.sha256(b"streamium-request-key:2:" + shared)


def request_mac(key: bytes, channel: str, seq: int, amount: int, method: str, target: str, body: bytes,
                idempotency_key: str) -> str:
    """The MAC of one request: the channel, the sequence number, the payment it goes with, the
    method, the request target exactly as sent (path and query), the body and its key."""
    text = ":".join(str(p) for p in ("streamium-request", 2, channel, seq, amount, method.upper(), target,
                                     hashes.sha256(body).hex(), idempotency_key))
    return hmac.new(key, text.encode("utf-8"), "sha256").hexdigest()


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
    auth: str  # request_mac(...), 32 bytes, hex

    def header(self) -> str:
        return (f"channel={self.channel}, seq={self.seq}, amount={self.amount}, "
                f"voucher={self.voucher}, auth={self.auth}")

    @classmethod
    def parse(cls, text: str) -> "Payment":
        channel, seq, amount, voucher, auth = _match(
            _PAYMENT, text, "channel=<K2>, seq=<n>, amount=<sat>, voucher=<sig>, auth=<mac>")
        return cls(channel, _at_most(seq, "seq", MAX_SEQ), _at_most(amount, "amount", MAX_AMOUNT),
                   _signature(voucher, "voucher"), auth)

    @classmethod
    def make(cls, key: bytes, channel: str, seq: int, amount: int, voucher: str, method: str, target: str,
             body: bytes, idempotency_key: str = "") -> "Payment":
        """`key`: the channel's `request_key`."""
        mac = request_mac(key, channel, seq, amount, method, target, body, idempotency_key)
        return cls(channel, seq, amount, voucher, mac)

    def verify(self, key: bytes, method: str, target: str, body: bytes, idempotency_key: str) -> None:
        """Raise ProtocolError(bad_payment) unless this header was made for exactly this request
        under the channel's `request_key`."""
        mac = request_mac(key, self.channel, self.seq, self.amount, method, target, body, idempotency_key)
        if not hmac.compare_digest(mac, self.auth):
            raise ProtocolError(BAD_PAYMENT, "the request's MAC does not verify")


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
        channel, seq, status, charged, spent, signed, sig = _match(
            _RECEIPT, text, "channel=<K2>, seq=<n>, status=<s>, charged=<sat>, spent=<sat>, signed=<sat>, sig=<sig>")
        return cls(channel, _at_most(seq, "seq", MAX_SEQ), _at_most(status, "status", 999),
                   _at_most(charged, "charged", MAX_AMOUNT), _at_most(spent, "spent", MAX_AMOUNT),
                   _at_most(signed, "signed", MAX_AMOUNT), _signature(sig, "sig"))

    @classmethod
    def make(cls, k2: ec.PrivateKey, channel: str, seq: int, status: int, charged: int, spent: int, signed: int,
             body: bytes) -> "Receipt":
        digest = receipt_digest(channel, seq, status, charged, spent, signed, body)
        return cls(channel, seq, status, charged, spent, signed, sign(k2, digest, sighash=False).hex())

    def verify(self, body: bytes, k2: Optional[ec.PublicKey] = None) -> None:
        """Raise ProtocolError(bad_payment) unless K2 (the channel in the receipt; `k2`, parsed
        once, when the caller has it) signed it for `body`."""
        digest = receipt_digest(self.channel, self.seq, self.status, self.charged, self.spent, self.signed, body)
        key = k2 if k2 is not None else public_key(bytes.fromhex(self.channel), BAD_PAYMENT)
        verify(key, bytes.fromhex(self.sig), digest, BAD_PAYMENT, sighash=False)


def idempotency_key(value: Optional[str]) -> str:
    """The request's Idempotency-Key ('' for none); printable ASCII, at most 255 characters."""
    if value is None:
        return ""
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY_CHARS or not all(" " <= c <= "~" for c in value):
        raise WireError(f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters")
    return value
