"""Wire messages of §4 (protocol version 2): parsing with exact types and ranges, canonical
JSON, builders.

Every check here is about form; whether a well-formed message is acceptable in the
channel's state is the state machines' business.
"""

import json
import re

from .errors import ProtocolError, BAD_MESSAGE, UNSUPPORTED_VERSION, CODES
from .transactions import MAX_MONEY

VERSION = 2
MAX_MESSAGE_BYTES = 8 * 1024
MAX_CHAT_CHARS = 500
NETWORKS = ("regtest", "signet", "testnet4", "mainnet")
END_REASONS = ("unpaid", "exhausted", "expiring", "stopped", "funding_gone")
HOLD_REASONS = ("unconfirmed",)
MAX_CONFIRMATIONS = 100
_HEX = re.compile(r"\A(?:[0-9a-f]{2})*\Z")


def canonical_json(obj) -> bytes:
    """Keys sorted, separators `,` and `:`, non-ASCII unescaped, UTF-8 (§4)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _bad(message: str):
    raise ProtocolError(BAD_MESSAGE, message)


# ---- field validators: each returns None or raises bad_message ---------------


def _integer(low: int, high: int):
    def check(name, value):
        if type(value) is not int or not low <= value <= high:
            _bad(f"{name} must be an integer in [{low}, {high}]")

    return check


def _text(low: int, high: int):
    def check(name, value):
        if type(value) is not str or not low <= len(value) <= high:
            _bad(f"{name} must be a string of {low} to {high} characters")

    return check


def _hex(low_bytes: int, high_bytes: int):
    def check(name, value):
        if type(value) is not str or not _HEX.match(value) or not low_bytes <= len(value) // 2 <= high_bytes:
            _bad(f"{name} must be lowercase hex of {low_bytes} to {high_bytes} bytes")

    return check


def _one_of(choices):
    def check(name, value):
        if type(value) is not str or value not in choices:
            _bad(f"{name} must be one of {', '.join(choices)}")

    return check


def _pubkey(name, value):
    _hex(33, 33)(name, value)
    if value[:2] not in ("02", "03"):
        _bad(f"{name} must be a compressed public key")


def _object(fields):
    def check(name, value):
        if type(value) is not dict:
            _bad(f"{name} must be an object")
        _check_fields(value, fields, name + ".")

    return check


amount = _integer(0, MAX_MONEY)
positive_amount = _integer(1, MAX_MONEY)
seconds = _integer(0, 3600)
unix_time = _integer(0, 2**32 - 1)
txid = _hex(32, 32)
signature = _hex(8, 73)
transaction = _hex(60, MAX_MESSAGE_BYTES // 2)
address = _text(14, 90)

SCHEMAS = {
    "hello": {},
    "offer": {
        "name": _text(1, 100),
        "network": _one_of(NETWORKS),
        "rate_sat_per_min": positive_amount,
        "channel_pubkey": _pubkey,
        "payout_address": address,
        "min_deposit_sat": positive_amount,
        "min_payment_sat": positive_amount,
        "fee_rate_sat_vb": _integer(1, 10_000),
        "refund_lock_s": _integer(60, 30 * 86_400),
        "pay_interval_s": _integer(1, 3600),
        "prepay_s": seconds,
        "grace_s": seconds,
        "max_unconfirmed_sat": positive_amount,
        "confirmations": _integer(0, MAX_CONFIRMATIONS),
        "identity_pubkey": _pubkey,
        "sig": signature,
    },
    "open": {
        "viewer_pubkey": _pubkey,
        "funding": _object({"txid": txid, "vout": _integer(0, 2**32 - 1), "value": positive_amount}),
        "change_address": address,
        "refund_tx": transaction,
    },
    "refund_sig": {"sig": signature},
    "commit": {"funding_tx": transaction},
    "commit_ack": {"txid": txid},
    "pay": {"amount": amount, "sig": signature},
    "pay_ack": {"amount": amount, "paid_until": unix_time},
    "close": {},
    "end": {"reason": _one_of(END_REASONS)},
    "closed": {"txid": txid},
    "release": {"sig": signature},
    "resume": {"funding_txid": txid, "viewer_pubkey": _pubkey, "at": unix_time, "sig": signature},
    "hold": {"reason": _one_of(HOLD_REASONS)},
    "unhold": {},
    "chat": {"text": _text(0, MAX_CHAT_CHARS)},
    "error": {"code": _text(1, 64), "message": _text(0, MAX_CHAT_CHARS)},
}
OPTIONAL = {"chat": {"from": _text(0, 100)}, "close": {"amount": positive_amount, "sig": signature}}  # close: v2 §F


def _check_fields(obj: dict, fields: dict, prefix: str = "") -> None:
    for name, check in fields.items():
        if name not in obj:
            _bad(f"missing field {prefix}{name}")
        check(prefix + name, obj[name])


def _reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        _bad("duplicate key in JSON object")
    return dict(pairs)


def _reject_constant(name):
    _bad(f"{name} is not JSON")


def parse_message(raw) -> dict:
    """Validate one received message (text, bytes or an already-decoded dict).

    Returns the message object, unknown extra fields included (they are ignored by
    the state machines but belong to the signed offer). Raises ProtocolError.
    """
    if isinstance(raw, (bytes, bytearray)):
        data = bytes(raw)
    elif isinstance(raw, str):
        data = raw.encode("utf-8", "surrogatepass")
    else:
        try:
            data = canonical_json(raw)
        except (TypeError, ValueError, RecursionError):
            _bad("message is not JSON data")
    if len(data) > MAX_MESSAGE_BYTES:
        _bad("message is larger than 8 KiB")
    try:
        msg = json.loads(data.decode("utf-8"), object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        _bad("message is not valid JSON")
    if type(msg) is not dict:
        _bad("message must be a JSON object")
    if type(msg.get("v")) is not int:
        _bad(f"field v must be the integer {VERSION}")
    if msg["v"] != VERSION:
        raise ProtocolError(UNSUPPORTED_VERSION, f"version {msg['v']} is not supported, only {VERSION}")
    kind = msg.get("type")
    if type(kind) is not str or kind not in SCHEMAS:
        _bad("unknown message type")
    _check_fields(msg, SCHEMAS[kind])
    for name, check in OPTIONAL.get(kind, {}).items():
        if name in msg:
            check(name, msg[name])
    try:
        canonical_json(msg)  # "\ud800" decodes to a lone surrogate, which has no UTF-8 and cannot be signed
    except UnicodeEncodeError:
        _bad("message holds an unpaired surrogate: not Unicode text")
    return msg


def message(kind: str, **fields) -> dict:
    """A message object to send, e.g. `message("pay", amount=1000, sig="30..01")`."""
    return {"v": VERSION, "type": kind, **fields}


def error(code: str, text: str) -> dict:
    assert code in CODES
    return message("error", code=code, message=text[:MAX_CHAT_CHARS])
