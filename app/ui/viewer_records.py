"""The viewer's channel records in this browser, one per K1.

`viewer:<identity>:<stream>:<K1>` holds a channel (and its secret K1); `viewer-now:<identity>:<stream>`
names the one a share link shows. Keyed by K1, no tab or later visit can overwrite another
channel's key, and "watch again" only moves the pointer: an old K1 may still have coins to sweep.
"""

from app.channel.signatures import private_key
from app.ui import storage


def _base(share):
    return f"viewer:{share.identity_pubkey}:{share.stream}"


def _pointer(share):
    return f"viewer-now:{share.identity_pubkey}:{share.stream}"


def key(share, viewer):
    return f"{_base(share)}:{viewer.key.sec().hex()}"


def current(share):
    """The record the link shows, or None. A record from before records were keyed by K1 moves over."""
    k1 = storage.get(_pointer(share))
    if k1:
        return storage.get(f"{_base(share)}:{k1}")
    legacy = storage.get(_base(share))
    if legacy and legacy.get("channel_secret"):
        k1 = private_key(bytes.fromhex(legacy["channel_secret"])).sec().hex()
        storage.put(f"{_base(share)}:{k1}", legacy)
        storage.put(_pointer(share), k1)
        storage.delete(_base(share))
        return legacy
    return None


def save(share, viewer, record):
    storage.put(key(share, viewer), record)


def point(share, viewer):
    """Make `viewer` the channel the link shows: when the user accepts an offer, and never after
    (a page another tab took over must not move the pointer back)."""
    storage.put(_pointer(share), viewer.key.sec().hex())


def forget_current(share):
    storage.delete(_pointer(share))
