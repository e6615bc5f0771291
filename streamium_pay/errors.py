"""What can stop a paid request, each a sentence for the user (pay.py prints it as one line)."""


class PayError(Exception):
    """A payment was refused or could not be made; nothing beyond what the message says was paid."""


class PriceRefused(PayError):
    """The server asks more per request than `max_price` allows."""


class BudgetExceeded(PayError):
    """Signing the payment a request needs would go beyond the client's budget."""


class InsufficientFunds(PayError):
    """The wallet's coins do not cover a channel's deposit and its fees."""


class ServerRefused(PayError):
    """The server refused a request or a channel message (its reason is in the message)."""


class BadAnswer(PayError):
    """The server answered something this binding does not allow: a bad quote, a missing or
    false receipt, a charge beyond the price. Stop using that server's channel."""


class Unreachable(PayError):
    """The server did not answer (refused the connection, timed out)."""


class WalletError(PayError):
    """The wallet file cannot be read, written or used as asked."""
