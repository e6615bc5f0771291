"""The paywall's database (SQLite, WAL): the identity key, every channel's core record, and
each paid request by its sequence number, with the answer stored under its Idempotency-Key.

Every write is committed before the answer that depends on it leaves (protocol §7), and writes
are group-committed: those queued during one turn of the event loop are one transaction at the
start of the next, and each writer is told when it is done. A commit survives the process being
killed (WAL). What protects money beyond that, K2 and each new voucher, is `durable`: its
transaction also waits for the disk (`synchronous=FULL`, about half a millisecond here), so it
survives a power cut too, with everything written before it. A request's charge and its used
sequence number are not waited for: a power cut may lose the last moments of them (the client
holds receipts for those charges; see docs/http-payments.md §6).

One paywall at a time: the connection holds the file's lock from the start (SQLite's exclusive
locking mode, which also spares each transaction WAL's shared-memory locks), since two
paywalls on one file would each admit the other's sequence numbers again.
"""

import asyncio
import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional

from app.channel import new_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    k2 TEXT PRIMARY KEY, record TEXT NOT NULL, last_used INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    k2 TEXT NOT NULL, seq INTEGER NOT NULL, idem TEXT NOT NULL, fingerprint TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, status INTEGER, headers TEXT, body BLOB,
    charged INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL, PRIMARY KEY (k2, seq));
CREATE UNIQUE INDEX IF NOT EXISTS requests_by_key ON requests (k2, idem) WHERE idem != '';
"""


SEQ_WINDOW = 4096  # a sequence number this far below the highest used is refused as too old


@dataclass(frozen=True)
class StoredAnswer:
    done: bool
    fingerprint: str
    status: int
    headers: list  # [name, value] pairs
    body: bytes


class Store:
    def __init__(self, path: str):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=0)
        self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("BEGIN IMMEDIATE")  # the lock, held from here until close
        except sqlite3.OperationalError as e:
            self.db.close()
            if "locked" in str(e):
                raise sqlite3.OperationalError(f"{path} is in use by another paywall") from None
            raise
        self.db.execute("COMMIT")
        self.db.executescript(SCHEMA)
        # requests in flight when the paywall stopped were not charged: their keys may be retried
        self.db.execute("UPDATE requests SET done = 1, idem = '', status = 0 WHERE done = 0")
        if path != ":memory:":
            os.chmod(path, 0o600)  # it holds the channel keys
        self._queue: List[tuple] = []
        self._durable = False
        self._synchronous = None  # the connection's PRAGMA synchronous now
        self._windows = {}  # k2 -> [highest seq used, the seqs used within SEQ_WINDOW of it]
        self.running_keys = {}  # (k2, Idempotency-Key) -> fingerprint, of requests not yet answered

    # ---- writing: in order, group-committed ------------------------------------------------

    def write(self, statements: Callable[[sqlite3.Connection], None], durable: bool = False) -> asyncio.Future:
        """Queue `statements` for the next transaction, after every write queued before; the
        future is done once they are committed (`durable`: on disk, power cut or not)."""
        done = asyncio.get_running_loop().create_future()
        if not self._queue:
            asyncio.get_running_loop().call_soon(self._commit)
        self._queue.append((statements, done))
        self._durable = self._durable or durable
        return done

    def synced(self) -> asyncio.Future:
        """Done once every write queued so far is committed."""
        return self.write(lambda db: None)

    def _commit(self) -> None:
        """One transaction for the writes queued during the last turn of the loop (the connection
        is in autocommit mode, where `with connection:` would not begin one)."""
        batch, durable, self._queue, self._durable = self._queue, self._durable, [], False
        db, mode = self.db, "FULL" if durable else "NORMAL"
        if mode != self._synchronous:
            db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode
        try:
            db.execute("BEGIN IMMEDIATE")
            for statements, _ in batch:
                statements(db)
            db.execute("COMMIT")
        except Exception as e:  # noqa: BLE001  (the disk failed: every writer of the batch hears it)
            if db.in_transaction:
                db.execute("ROLLBACK")
            for _, done in batch:
                done.set_exception(e)
            return
        for _, done in batch:
            done.set_result(None)

    async def close(self) -> None:
        """After every queued write is committed."""
        if self._queue:
            await self.synced()
        self.db.close()

    # ---- the identity and the channels ---------------------------------------------------------

    def _meta(self, key: str) -> Optional[str]:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row and row[0]

    def identity_secret(self) -> bytes:
        """The paywall's long-lived identity key, made on first use (before anything is served)."""
        stored = self._meta("identity_secret")
        if stored:
            return bytes.fromhex(stored)
        secret = new_secret(os.urandom)
        self.db.execute("INSERT INTO meta VALUES ('identity_secret', ?)", (secret.hex(),))
        return secret

    @property
    def revenue(self) -> int:
        """Sat charged for requests served since the database was made: the channels stored now,
        and those forgotten (added up as each was)."""
        (stored,) = self.db.execute("SELECT COALESCE(SUM(charged), 0) FROM requests").fetchone()
        return int(self._meta("forgotten_revenue_sat") or 0) + stored

    def put_channel(self, k2: str, record: dict, now: int) -> asyncio.Future:
        text = json.dumps(record)
        return self.write(lambda db: db.execute(
            "INSERT INTO channels VALUES (?, ?, ?, ?) ON CONFLICT (k2) DO UPDATE SET record = excluded.record",
            (k2, text, now, now)), durable=True)

    def channels(self) -> Iterator[tuple]:
        """(k2, record, last_used, created) of every stored channel. Its requests are the ledger: the
        record's `spent` is the sum of what they were charged (a charge writes its request only),
        and it was last used at the latest of them."""
        rows = self.db.execute(
            "SELECT k2, record, MAX(last_used, COALESCE((SELECT MAX(at) FROM requests r WHERE r.k2 = c.k2), 0)), "
            "created, COALESCE((SELECT SUM(charged) FROM requests r WHERE r.k2 = c.k2), 0) FROM channels c").fetchall()
        for k2, record, last_used, created, spent in rows:
            yield k2, {**json.loads(record), "spent": spent}, last_used, created

    def forget_channel(self, k2: str) -> asyncio.Future:
        """Only for a channel that may be forgotten (closed and buried, or never funded)."""
        def statements(db):
            db.execute("INSERT INTO meta SELECT 'forgotten_revenue_sat', COALESCE(SUM(charged), 0) FROM requests "
                       "WHERE k2 = ? ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                       (k2,))
            db.execute("DELETE FROM channels WHERE k2 = ?", (k2,))
            db.execute("DELETE FROM requests WHERE k2 = ?", (k2,))
        self._windows.pop(k2, None)
        return self.write(statements)

    # ---- requests ------------------------------------------------------------------------------

    def used(self, k2: str, seq: int) -> bool:
        """`seq` was claimed before on this channel, or is too old to tell: more than SEQ_WINDOW
        below the highest claimed (so no request is read from disk for it, and the memory for a
        channel's used numbers stays bounded; the client counts up, a few in flight at a time)."""
        high, seen = self._window(k2)
        return seq <= high - SEQ_WINDOW or seq in seen

    def _window(self, k2: str) -> list:
        if k2 not in self._windows:
            (high,) = self.db.execute("SELECT COALESCE(MAX(seq), -1) FROM requests WHERE k2 = ?", (k2,)).fetchone()
            seen = {seq for (seq,) in self.db.execute("SELECT seq FROM requests WHERE k2 = ? AND seq > ?",
                                                      (k2, high - SEQ_WINDOW))}
            self._windows[k2] = [high, seen]
        return self._windows[k2]

    def claim(self, k2: str, seq: int, idem: str, fingerprint: str, now: int) -> asyncio.Future:
        """Mark `seq` used: refused after, at once; committed when the future is done. Check
        `used` first. The request's `fingerprint` is kept only under an Idempotency-Key `idem`,
        where a retry is compared with it."""
        window = self._window(k2)
        window[1].add(seq)
        if seq > window[0]:
            window[0] = seq
            if len(window[1]) > 2 * SEQ_WINDOW:
                window[1] = {s for s in window[1] if s > seq - SEQ_WINDOW}
        if idem:
            self.running_keys[k2, idem] = fingerprint
        return self.write(lambda db: db.execute(
            "INSERT INTO requests (k2, seq, idem, fingerprint, at) VALUES (?, ?, ?, ?, ?)",
            (k2, seq, idem, fingerprint if idem else "", now)))

    def answer(self, k2: str, idem: str) -> Optional[StoredAnswer]:
        """What a request under this Idempotency-Key was answered (`done` False: still running)."""
        if (k2, idem) in self.running_keys:  # the same request again gets 409 in_progress, another 422
            return StoredAnswer(False, self.running_keys[k2, idem], 0, [], b"")
        row = self.db.execute("SELECT done, fingerprint, status, headers, body FROM requests "
                              "WHERE k2 = ? AND idem = ?", (k2, idem)).fetchone()
        if row is None:
            return None
        done, fingerprint, status, headers, body = row
        return StoredAnswer(bool(done), fingerprint, status or 0, json.loads(headers or "[]"), body or b"")

    def finish(self, k2: str, seq: int, status: int, charged: int, now: int,
               keep: Optional[tuple] = None, idem: str = "") -> asyncio.Future:
        """The request done, with what it was charged (the ledger: `channels` sums it up) and,
        under its Idempotency-Key `idem`, the answer (`keep`: headers, body) to give again."""
        headers, body = (json.dumps(keep[0]), keep[1]) if keep else (None, None)
        done = self.write(lambda db: db.execute(
            "UPDATE requests SET done = 1, status = ?, charged = ?, headers = ?, body = ?, at = ?, "
            "idem = CASE WHEN ? THEN idem ELSE '' END WHERE k2 = ? AND seq = ?",
            (status, charged, headers, body, now, keep is not None, k2, seq)))
        if idem:
            done.add_done_callback(lambda _: self.running_keys.pop((k2, idem), None))
        return done

    def expire_answers(self, before: int) -> asyncio.Future:
        """Answers kept for Idempotency-Key retries are dropped after a day; the sequence numbers
        stay used for as long as the channel is stored."""
        return self.write(lambda db: db.execute(
            "UPDATE requests SET headers = NULL, body = NULL, idem = '' WHERE done = 1 AND at < ? AND idem != ''",
            (before,)))
