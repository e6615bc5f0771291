"""The share link: it names the broadcast and pins the broadcaster's identity key.

Format: `<origin>/#/watch/<stream-name>/<identity-pubkey-hex>`, the stream name
percent-encoded, the key as 66 lowercase hex characters. Everything needed is in
the fragment, so the page that serves the link never sees which stream is watched.
"""

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

_FRAGMENT = re.compile(r"#/watch/([^/#?]+)/(0[23][0-9a-fA-F]{64})/?\Z")


@dataclass(frozen=True)
class ShareLink:
    stream: str
    identity_pubkey: str  # 66 lowercase hex characters


def build_link(origin: str, stream: str, identity_pubkey: str) -> str:
    """The link a broadcaster shares, e.g. `https://host/#/watch/my%20show/02ab..`."""
    return f"{origin.rstrip('/')}/#/watch/{quote(stream, safe='')}/{identity_pubkey.lower()}"


def parse_link(url: str) -> ShareLink:
    """The stream name and identity key of a share link (or just its fragment)."""
    found = _FRAGMENT.search(url.strip())
    if not found:
        raise ValueError("not a Streamium share link: expected #/watch/<stream>/<66-hex identity key>")
    stream = unquote(found.group(1))
    if not 1 <= len(stream) <= 100:
        raise ValueError("stream name must have 1 to 100 characters")
    return ShareLink(stream, found.group(2).lower())
