"""The server's problem documents (docs/http-payments.md §2, §5): the 402 quote of a priced
route, and the `streamium.reason` of every refusal. Unsigned and hostile until checked: every
field is checked for type and range before it is used.
"""

import json
import re
from dataclasses import dataclass
from typing import Dict, Optional, Union

from app.channel.messages import NETWORKS
from app.channel.transactions import MAX_MONEY
from app.paid_http import PROBLEM_TYPE

from .errors import BadAnswer

MAX_PROBLEM_BYTES = 64 * 1024
_PUBKEY = re.compile(r"\A0[23][0-9a-f]{64}\Z")
_PATH = re.compile(r"\A(/[A-Za-z0-9._~-]+)+\Z")
_ROUTE = re.compile(r"\A(\*|[A-Z]{1,16}) (/\S{0,300})\Z")
TERMS = {  # name -> (lowest, highest)
    "min_deposit_sat": (1, MAX_MONEY), "min_payment_sat": (1, MAX_MONEY), "fee_rate_sat_vb": (1, 10_000),
    "refund_lock_s": (60, 30 * 86_400), "max_unconfirmed_sat": (1, MAX_MONEY), "confirmations": (0, 100),
    "close_fee_sat": (0, MAX_MONEY), "settle_margin_s": (0, 30 * 86_400),
}


def problem(content_type: str, body: bytes) -> Optional[dict]:
    """The `streamium` object of a problem+json answer, or None for any other answer."""
    if content_type != PROBLEM_TYPE or len(body) > MAX_PROBLEM_BYTES:
        return None
    try:
        data = json.loads(body, parse_constant=_not_a_number)
    except (ValueError, RecursionError):
        return None
    found = data.get("streamium") if type(data) is dict else None
    return found if type(found) is dict else None


def reason(details: Optional[dict]) -> Optional[str]:
    """`streamium.reason` of a refusal (`no_credit`, `closed`, ...), None if it has none."""
    value = (details or {}).get("reason")
    return value if type(value) is str and len(value) <= 64 else None


@dataclass(frozen=True)
class Quote:
    """What a priced route costs and what a channel with its server costs (§2)."""

    price_sat: int
    route: str  # "GET /v1/*"
    channels: str  # the control plane's path on the same origin
    name: str
    network: str
    identity_pubkey: str
    terms: Dict[str, Union[int, str]]  # TERMS and payout_address

    @classmethod
    def from_problem(cls, details: Optional[dict], network: str) -> "Quote":
        """The quote in a 402's `streamium` object; BadAnswer unless every field is well formed
        and the server is on `network`."""
        if details is None:
            raise BadAnswer("the 402 answer has no Streamium quote (application/problem+json with `streamium`)")
        d, terms = details, details.get("terms")
        if d.get("v") != 2 or type(d.get("v")) is not int:
            raise BadAnswer("the quote is not of protocol version 2")
        _integer(d.get("price_sat"), "price_sat", 1, MAX_MONEY)
        _matching(d.get("route"), "route", _ROUTE)
        _matching(d.get("channels"), "channels", _PATH)
        _matching(d.get("identity_pubkey"), "identity_pubkey", _PUBKEY)
        if type(d.get("name")) is not str or not 1 <= len(d["name"]) <= 100:
            raise BadAnswer("the quote's name must be 1 to 100 characters")
        if d.get("network") not in NETWORKS:
            raise BadAnswer("the quote names no known network")
        if d["network"] != network:
            raise BadAnswer(f"the server is on {d['network']}, this wallet on {network}: pass --network")
        if type(terms) is not dict:
            raise BadAnswer("the quote has no terms")
        for name, (low, high) in TERMS.items():
            _integer(terms.get(name), "terms." + name, low, high)
        if type(terms.get("payout_address")) is not str or not 14 <= len(terms["payout_address"]) <= 90:
            raise BadAnswer("the quote's payout_address is not an address")
        kept = {name: terms[name] for name in (*TERMS, "payout_address")}
        return cls(d["price_sat"], d["route"], d["channels"], d["name"], d["network"], d["identity_pubkey"], kept)


def _integer(value, name: str, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise BadAnswer(f"the quote's {name} must be an integer from {low} to {high}")


def _matching(value, name: str, pattern) -> None:
    if type(value) is not str or not pattern.match(value) or ".." in value.split("/"):
        raise BadAnswer(f"the quote's {name} is malformed")


def _not_a_number(name):
    raise ValueError(f"{name} is not a number")
