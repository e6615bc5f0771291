"""The wallet file: one key whose P2WPKH address receives the user's coins and every channel's
change (T1's excess, T2, each T3), the server identities pinned per origin, and each channel as
the core stored it (K1 included: keys never leave the file).

JSON, rewritten whole and atomically (a temporary file, fsync, rename; mode 0600) each time the
core asks to persist, by a FileWriter: a save waits for the disk, except inside `queued()`, where
the caller awaits `written()` before anything that depends on it goes out. One process at a
time: an exclusive lock beside it, since two writers would lose each other's records and reuse
each other's sequence numbers.
"""

import asyncio
import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, List, Optional

from app.channel import Viewer, new_secret
from app.channel.addresses import script_address
from app.channel.messages import NETWORKS
from app.channel.script import p2wpkh
from app.channel.signatures import private_key

from .errors import BadAnswer, WalletError
from .file_writer import FileWriter

VERSION = 1
SEQ_BLOCK = 1000  # sequence numbers reserved (and stored) at a time


def default_path(network: str) -> Path:
    return Path.home() / ".streamium" / f"wallet-{network}.json"


@dataclass
class ChannelEntry:
    """One channel as the wallet keeps it: the core's record and what the binding adds."""

    origin: str  # the server, e.g. "https://api.example"
    channels_path: str  # its control plane, e.g. "/.well-known/streamium/channels"
    record: dict  # the core Viewer's last persisted record
    prices: Dict[str, int] = field(default_factory=dict)  # route ("GET /v1/*") -> sat, from its quotes
    seq_reserved: int = 0  # every sequence number below it may have been used
    spent: int = 0  # the highest `spent` a verified receipt showed
    receipt: Optional[str] = None  # the last verified receipt, as its header
    retired: Optional[str] = None  # why the channel takes no more requests
    close_message: Optional[dict] = None  # the `close` sent, sent again if its answer was lost
    viewer: Viewer = field(init=False, repr=False)  # the live core object
    seq_next: int = field(init=False, repr=False)

    def __post_init__(self):
        self.viewer = Viewer.from_record(self.record)
        self.seq_next = self.seq_reserved

    @property
    def channel_key(self) -> str:
        """K2: the channel's name on the wire and in the wallet."""
        return self.record["offer"]["channel_pubkey"]

    def to_record(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}


class Wallet:
    """The open wallet file. `channels` maps K2 to its entry, oldest first."""

    def __init__(self, path: Path, network: str, secret: bytes, servers: Dict[str, str],
                 channels: Dict[str, ChannelEntry], lock_fd: int):
        self.path, self.network, self.servers, self.channels = path, network, servers, channels
        self.key = private_key(secret)
        self._lock_fd = lock_fd
        self._writer = FileWriter(path)
        self._queueing = False

    @classmethod
    def open(cls, path: Path, network: str) -> "Wallet":
        """The wallet at `path`, made with a fresh key if there is none."""
        if network not in NETWORKS:
            raise WalletError(f"unknown network {network!r}")
        path = Path(path).expanduser()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_fd = _lock(path)
        try:
            if not path.exists():
                wallet = cls(path, network, new_secret(os.urandom), {}, {}, lock_fd)
                wallet.save()
                return wallet
            return cls._load(path, network, lock_fd)
        except BaseException:
            os.close(lock_fd)
            raise

    @classmethod
    def _load(cls, path: Path, network: str, lock_fd: int) -> "Wallet":
        try:
            data = json.loads(path.read_bytes())
            if data.get("version") != VERSION:
                raise WalletError(f"{path} is not a version {VERSION} Streamium wallet")
            if data["network"] != network:
                raise WalletError(f"{path} is a {data['network']} wallet, not {network}: pass --network or --wallet")
            channels = {}
            for item in data["channels"]:
                entry = ChannelEntry(**item)
                channels[entry.channel_key] = entry
            return cls(path, network, bytes.fromhex(data["secret"]), dict(data["servers"]), channels, lock_fd)
        except WalletError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise WalletError(f"cannot read the wallet {path}: {e}") from None

    def close(self) -> None:
        """Let another process open the file, once every save is written."""
        self._writer.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def script(self) -> bytes:
        return p2wpkh(self.key.sec())

    @property
    def address(self) -> str:
        """The wallet's one address: fund it; every channel's change comes back to it."""
        return script_address(self.script, self.network)

    def check_identity(self, origin: str, identity_pubkey: str) -> None:
        """Trust on first use: refuse a server that now signs under another identity key."""
        pinned = self.servers.get(origin)
        if pinned is not None and pinned != identity_pubkey:
            raise BadAnswer(f"{origin} now presents the identity key {identity_pubkey}, not the {pinned} "
                            f"this wallet pinned: refusing to pay it (remove it from {self.path} if you "
                            "know the server changed its key)")

    def add_channel(self, origin: str, channels_path: str, record: dict, prices: Dict[str, int]) -> ChannelEntry:
        """Store a channel the user accepted (its first record, with K1), pinning its server."""
        self.check_identity(origin, record["link"]["identity_pubkey"])
        entry = ChannelEntry(origin, channels_path, record, dict(prices))
        self.servers[origin] = record["link"]["identity_pubkey"]
        self.channels[entry.channel_key] = entry
        self.save()
        return entry

    def persist(self, entry: ChannelEntry, record: dict) -> None:
        """The core's Persist action for this channel: stored before anything that depends on it."""
        entry.record = record
        self.save()

    def of_origin(self, origin: str) -> List[ChannelEntry]:
        return [e for e in self.channels.values() if e.origin == origin]

    def next_seq(self, entry: ChannelEntry) -> int:
        """A sequence number never used on this channel, across crashes: each block of them is
        stored as used before the first of it goes out."""
        if entry.seq_next >= entry.seq_reserved:
            entry.seq_reserved = entry.seq_next + SEQ_BLOCK
            self.save()
        seq = entry.seq_next
        entry.seq_next += 1
        return seq

    def save(self) -> None:
        """The wallet as it is now, on disk when this returns (inside `queued()`: once `written()`)."""
        data = {"version": VERSION, "network": self.network, "secret": self.key.secret.hex(),
                "servers": self.servers, "channels": [e.to_record() for e in self.channels.values()]}
        try:
            # compact: only without `indent` does json use its C encoder, ten times faster here, and
            # this runs on the event loop for every new voucher
            done = self._writer.write(json.dumps(data, separators=(",", ":"), sort_keys=True).encode() + b"\n")
        except OSError as e:
            raise WalletError(f"cannot write the wallet {self.path}: {e}") from None
        if not self._queueing:
            self._raise_if_failed(done)

    @contextlib.contextmanager
    def queued(self):
        """Saves inside the block do not wait for the disk: the caller awaits `written()` before
        anything that depends on them goes out, while the event loop serves everything else."""
        self._queueing = True
        try:
            yield
        finally:
            self._queueing = False

    async def written(self) -> None:
        """Once every save so far is on disk; WalletError if the newest could not be written."""
        latest = self._writer.latest
        if latest is not None:
            if not latest.done():
                waiter = asyncio.wrap_future(latest)
                # its error is raised below from `latest`: taken here, the waiter is never logged as an
                # error nobody retrieved (logged from the garbage collector, at any moment)
                waiter.add_done_callback(lambda w: w.cancelled() or w.exception())
                await asyncio.wait([waiter])  # a cancelled caller leaves the write be
            self._raise_if_failed(latest)

    def _raise_if_failed(self, done) -> None:
        try:
            done.result()
        except Exception as e:  # noqa: BLE001  (the disk's error, said as the wallet's)
            raise WalletError(f"cannot write the wallet {self.path}: {e}") from None


def _lock(path: Path) -> int:
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WalletError(f"the wallet {path} is in use by another pay.py: wait for it to finish") from None
    return fd
