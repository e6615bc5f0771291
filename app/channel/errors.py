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
