"""The authenticated `resume` of protocol v2 §A: K1 signs which channel it resumes and when.

K1 and the funding txid are public once T1 is on the chain, so a bare `resume` proves
nothing; a signature by K1 over the channel and a time that only ever grows does.
"""

from embit import hashes

from .errors import ProtocolError, NOT_OPEN
from .signatures import public_key, sign, verify

MAX_SKEW_S = 300  # |now - at| a broadcaster accepts


def digest(funding_txid: str, viewer_pubkey: str, channel_pubkey: str, at: int) -> bytes:
    text = f"streamium-resume:{funding_txid}:{viewer_pubkey}:{channel_pubkey}:{at}"
    return hashes.sha256(text.encode("utf-8"))


def signature(key, funding_txid: str, viewer_pubkey: str, channel_pubkey: str, at: int) -> str:
    """The signature by `key` (K1; low-S DER, no sighash byte, hex) of a resume at `at`."""
    return sign(key, digest(funding_txid, viewer_pubkey, channel_pubkey, at), sighash=False).hex()


def check(msg: dict, channel, last_at, now: int) -> None:
    """Raise ProtocolError(not_open) unless `msg` is a fresh resume signed by the channel's K1."""
    if (msg["funding_txid"], msg["viewer_pubkey"]) != (channel.funding.txid, channel.viewer_pubkey):
        raise ProtocolError(NOT_OPEN, "no such channel here")
    if abs(now - msg["at"]) > MAX_SKEW_S:
        raise ProtocolError(NOT_OPEN, f"resume time {msg['at']} is more than {MAX_SKEW_S} s from now")
    if last_at is not None and msg["at"] <= last_at:
        raise ProtocolError(NOT_OPEN, "resume is not newer than the last one accepted (a replay?)")
    k1 = public_key(bytes.fromhex(channel.viewer_pubkey), NOT_OPEN)
    verify(k1, bytes.fromhex(msg["sig"]),
           digest(channel.funding.txid, channel.viewer_pubkey, channel.offer.channel_pubkey, msg["at"]),
           NOT_OPEN, sighash=False)
