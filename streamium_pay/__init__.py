"""The client of the HTTP payment binding (docs/http-payments.md): a wallet file, a paying HTTP
client over the channel core (`app/channel/`), and pay.py's command line."""

from .chain import chain_round
from .client import PaidResponse, PayingClient
from .errors import BadAnswer, BudgetExceeded, InsufficientFunds, PayError, PriceRefused, ServerRefused, Unreachable, \
    WalletError
from .wallet import Wallet, default_path
