"""Streamium's payment channel core (protocol v2): pure Python, no I/O, runs in Pyodide.

The browser glue drives a `Viewer` or a `Broadcaster` with events and carries out
the actions they return; see docs/channel-api.md.
"""

from . import states
from .actions import (Action, Bind, Broadcast, Chat, Closed, Disconnect, LookUpInputs, PeerError, Persist, Send,
                      ShowFunding, ShowHold, ShowOffer, StartMedia, StopMedia)
from .addresses import address_script, dust
from .broadcaster import Broadcaster, ChainWatch, channel_id
from .lobby import Lobby
from .errors import CreditRefused, ProtocolError
from .link import ShareLink, build_link, parse_link
from .messages import canonical_json, error, message, parse_message
from .offer import Terms
from .signatures import new_secret
from .transactions import Utxo, funding_amount
from .viewer import Viewer
