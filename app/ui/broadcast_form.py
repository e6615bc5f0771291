"""The broadcaster's form: the terms of every channel, read and checked before going live, each
mistake said at its field."""

from app import address_check
from app.amounts import duration, rate_summary
from app.channel import ProtocolError, Terms
from app.channel.addresses import address_script, dust
from app.ui.dom import by_id, set_text
from app.ui.fiat import CURRENCY
from app.ui.field_errors import FieldError
from app.ui.peerlink import peer_id

FIELDS = (("bc-name", "name"), ("bc-payout", "payout_address"), ("bc-rate", "rate_sat_per_min"),
          ("bc-min-deposit", "min_deposit_sat"), ("bc-pay-interval", "pay_interval_s"), ("bc-prepay", "prepay_s"),
          ("bc-grace", "grace_s"), ("bc-lock", "refund_lock_s"), ("bc-confirmations", "confirmations"))
NUMBERS = (("bc-rate", "The price", 1, 10**9, "sats"), ("bc-min-deposit", "The minimum deposit", 1, 21 * 10**14, "sats"),
           ("bc-lock", "The lock time", 60, 2_592_000, "seconds"), ("bc-pay-interval", "The payment interval", 1, 3600,
                                                                     "seconds"),
           ("bc-prepay", "The prepaid time", 0, 3600, "seconds"), ("bc-grace", "The grace period", 0, 3600, "seconds"),
           ("bc-confirmations", "The confirmations", 0, 100, "confirmations"),
           ("bc-unconfirmed-min", "The unconfirmed minutes", 1, 100_000, "minutes"))
SECONDS_SHOWN = (("bc-lock", "bc-lock-text"),)


def whole_number(element_id, label, low, high, unit):
    raw = by_id(element_id).value.strip()
    if not raw.lstrip("-").isdigit() or not raw.isascii():
        raise FieldError(element_id, f"{label} must be a whole number of {unit}.")
    value = int(raw)
    if not low <= value <= high:
        raise FieldError(element_id, f"{label} must be from {low:,} to {high:,} {unit}.")
    return value


def preview(price=None):
    """What the price and the lock time mean, as they are typed (`price`: of one BTC in
    fiat.CURRENCY, on mainnet)."""
    try:
        set_text("bc-rate-summary", rate_summary(whole_number(*NUMBERS[0]), price, CURRENCY))
    except FieldError as e:
        set_text("bc-rate-summary", str(e) if by_id("bc-rate").value.strip() else "")
    for field, text in SECONDS_SHOWN:
        try:
            set_text(text, duration(whole_number(field, "", 0, 10**9, "seconds")))
        except FieldError:
            set_text(text, "")


def fill(terms):
    """The form as a saved broadcast had it."""
    for field, name in FIELDS:
        if name in terms:
            by_id(field).value = str(terms[name])
    if terms.get("max_unconfirmed_sat"):
        by_id("bc-unconfirmed-min").value = str(max(1, terms["max_unconfirmed_sat"] // terms["rate_sat_per_min"]))


def read(network) -> dict:
    """The form's fields, each checked; FieldError names the first one to fix."""
    name = by_id("bc-name").value.strip()
    if not name or peer_id(name) is None:
        raise FieldError("bc-name", "Give the stream a name with at least one letter or digit.")
    payout = by_id("bc-payout").value.strip()
    wrong = address_check.problem(payout, network)
    if wrong:
        raise FieldError("bc-payout", wrong)
    numbers = {field: whole_number(field, *rest) for field, *rest in NUMBERS}
    return {"name": name[:100], "payout": payout, **numbers}


def terms(network, fields: dict, fee_rate: int) -> Terms:
    """The terms of `read`'s fields at the chain's fee rate, checked as an offer will be."""
    minimum, rate = dust(address_script(fields["payout"], network)), fields["bc-rate"]
    offered = Terms(
        name=fields["name"], network=network, payout_address=fields["payout"], rate_sat_per_min=rate,
        min_deposit_sat=fields["bc-min-deposit"], min_payment_sat=minimum, fee_rate_sat_vb=fee_rate,
        refund_lock_s=fields["bc-lock"], pay_interval_s=fields["bc-pay-interval"], prepay_s=fields["bc-prepay"],
        grace_s=fields["bc-grace"], confirmations=fields["bc-confirmations"],
        max_unconfirmed_sat=max(minimum, rate * fields["bc-unconfirmed-min"]))
    try:
        return offered.check()
    except ProtocolError as e:
        raise ValueError(f"These terms cannot be offered: {e.message}")
