"""Streamium's payment channel core (protocol v1): pure Python, no I/O, runs in Pyodide.

The browser glue drives a `Viewer` or a `Broadcaster` with events and carries out
the actions they return; see docs/channel-api.md.
"""

from .actions import (Action, Broadcast, Chat, Closed, Disconnect, PeerError, Persist, Send, ShowFunding,
                      ShowOffer, StartMedia, StopMedia)
from .addresses import address_script, dust
from .broadcaster import Broadcaster, channel_id
from .errors import ProtocolError
from .link import ShareLink, build_link, parse_link
from .messages import canonical_json, error, message, parse_message
from .offer import Terms
from .signatures import new_secret
from .transactions import Utxo, funding_amount
from .viewer import Viewer
