"""The protocol's error codes and the one exception that carries them."""

BAD_MESSAGE = "bad_message"
UNSUPPORTED_VERSION = "unsupported_version"
BAD_OFFER = "bad_offer"
BAD_REFUND = "bad_refund"
BAD_FUNDING = "bad_funding"
BAD_PAYMENT = "bad_payment"
NOT_OPEN = "not_open"
CHANNEL_CLOSED = "channel_closed"
RATE_LIMITED = "rate_limited"

CODES = (
    BAD_MESSAGE,
    UNSUPPORTED_VERSION,
    BAD_OFFER,
    BAD_REFUND,
    BAD_FUNDING,
    BAD_PAYMENT,
    NOT_OPEN,
    CHANNEL_CLOSED,
    RATE_LIMITED,
)


class ProtocolError(Exception):
    """A rule of protocol v1 was broken; `code` is what goes into the `error` message."""

    def __init__(self, code: str, message: str):
        assert code in CODES, code
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class CreditRefused(Exception):
    """A metered channel (paid per use, the HTTP binding) cannot carry one more request now.
    `reason`: `not_open`, `closed`, `expiring`, `no_credit` (spent + reserved + price is more
    than the signed amount) or `unconfirmed` (more than `max_unconfirmed_sat` on an unconfirmed T1)."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
