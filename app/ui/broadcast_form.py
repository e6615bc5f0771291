"""The broadcaster's form: the terms of every channel, read and checked before going live."""

from app.amounts import rate_summary
from app.channel import ProtocolError, Terms
from app.channel.addresses import address_script, dust
from app.ui.dom import by_id, set_text
from app.ui.peerlink import peer_id

FIELDS = (("bc-name", "name"), ("bc-payout", "payout_address"), ("bc-rate", "rate_sat_per_min"),
          ("bc-min-deposit", "min_deposit_sat"), ("bc-pay-interval", "pay_interval_s"), ("bc-prepay", "prepay_s"),
          ("bc-grace", "grace_s"), ("bc-lock", "refund_lock_s"), ("bc-confirmations", "confirmations"))


def _int_field(element_id, label, low, high):
    raw = by_id(element_id).value.strip()
    if not raw.lstrip("-").isdigit() or not raw.isascii():
        raise ValueError(f"{label} must be a whole number.")
    value = int(raw)
    if not low <= value <= high:
        raise ValueError(f"{label} must be between {low:,} and {high:,}.")
    return value


def preview():
    try:
        rate = int(by_id("bc-rate").value)
        set_text("bc-rate-summary", rate_summary(rate) if rate > 0 else "")
    except ValueError:
        set_text("bc-rate-summary", "")
    pid = peer_id(by_id("bc-name").value)
    set_text("bc-name-id", f"Peer id: {pid}" if pid else "Viewers find you by this name.")


def fill(terms):
    """The form as a saved broadcast had it."""
    for field, name in FIELDS:
        if name in terms:
            by_id(field).value = str(terms[name])
    if terms.get("max_unconfirmed_sat"):
        by_id("bc-unconfirmed-min").value = str(max(1, terms["max_unconfirmed_sat"] // terms["rate_sat_per_min"]))


def terms(network, fee_rate):
    """The form's terms, checked as an offer will be; ValueError says what to fix."""
    name = by_id("bc-name").value.strip()
    if not name or peer_id(name) is None:
        raise ValueError("Give the stream a name with at least one letter or digit.")
    payout = by_id("bc-payout").value.strip()
    try:
        script = address_script(payout, network)
    except ProtocolError:
        raise ValueError(f"The payout address is not a valid {network} address.")
    rate = _int_field("bc-rate", "The price", 1, 10**9)
    minimum = dust(script)
    offered = Terms(
        name=name[:100], network=network, payout_address=payout, rate_sat_per_min=rate,
        min_deposit_sat=_int_field("bc-min-deposit", "The minimum deposit", 1, 21 * 10**14),
        min_payment_sat=minimum, fee_rate_sat_vb=fee_rate,
        refund_lock_s=_int_field("bc-lock", "The lock time", 60, 2_592_000),
        pay_interval_s=_int_field("bc-pay-interval", "The payment interval", 1, 3600),
        prepay_s=_int_field("bc-prepay", "The prepaid time", 0, 3600),
        grace_s=_int_field("bc-grace", "The grace period", 0, 3600),
        confirmations=_int_field("bc-confirmations", "The confirmations", 0, 100),
        max_unconfirmed_sat=max(minimum, rate * _int_field("bc-unconfirmed-min", "The unconfirmed minutes", 1,
                                                           100_000)))
    try:
        return offered.check()
    except ProtocolError as e:
        raise ValueError(f"These terms cannot be offered: {e.message}")
