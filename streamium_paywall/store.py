"""The paywall's database (SQLite, WAL): the identity key, every channel's core record, and
each paid request by its sequence number, with the answer stored under its Idempotency-Key.

Every write is committed before the answer that depends on it leaves (protocol §7). The
database is the only copy of K2 and of the best voucher: it is opened with `synchronous=FULL`,
so a commit survives a power cut, not only a crash of the process.
"""

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Iterator, Optional

from app.channel import new_secret

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    k2 TEXT PRIMARY KEY, record TEXT NOT NULL, last_used INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    k2 TEXT NOT NULL, seq INTEGER NOT NULL, idem TEXT NOT NULL, fingerprint TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, status INTEGER, headers TEXT, body BLOB, receipt TEXT,
    charged INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL, PRIMARY KEY (k2, seq));
CREATE UNIQUE INDEX IF NOT EXISTS requests_by_key ON requests (k2, idem) WHERE idem != '';
"""


@dataclass(frozen=True)
class StoredAnswer:
    done: bool
    fingerprint: str
    status: int
    headers: list  # [name, value] pairs
    body: bytes
    receipt: str


class Store:
    def __init__(self, path: str):
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        with self.db:
            # requests in flight when the paywall stopped were not charged: their keys may be retried
            self.db.execute("UPDATE requests SET done = 1, idem = '', status = 0 WHERE done = 0")
        if path != ":memory:":
            os.chmod(path, 0o600)  # it holds the channel keys

    def close(self):
        self.db.close()

    def _meta(self, key: str) -> Optional[str]:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row and row[0]

    def identity_secret(self) -> bytes:
        """The paywall's long-lived identity key, made on first use."""
        stored = self._meta("identity_secret")
        if stored:
            return bytes.fromhex(stored)
        secret = new_secret(os.urandom)
        with self.db:
            self.db.execute("INSERT INTO meta VALUES ('identity_secret', ?)", (secret.hex(),))
        return secret

    @property
    def revenue(self) -> int:
        """Sat charged for requests served since the database was made (closed channels too)."""
        return int(self._meta("revenue_sat") or 0)

    def put_channel(self, k2: str, record: dict, now: int) -> None:
        with self.db:
            self.db.execute("INSERT INTO channels VALUES (?, ?, ?, ?) ON CONFLICT (k2) DO UPDATE SET "
                            "record = excluded.record", (k2, json.dumps(record), now, now))

    def channels(self) -> Iterator[tuple]:
        """(k2, record, last_used, created) of every stored channel."""
        for k2, record, last_used, created in self.db.execute("SELECT * FROM channels").fetchall():
            yield k2, json.loads(record), last_used, created

    def forget_channel(self, k2: str) -> None:
        """Only for a channel that may be forgotten (closed and buried, or never funded)."""
        with self.db:
            self.db.execute("DELETE FROM channels WHERE k2 = ?", (k2,))
            self.db.execute("DELETE FROM requests WHERE k2 = ?", (k2,))

    def claim(self, k2: str, seq: int, idem: str, fingerprint: str, now: int) -> bool:
        """Mark `seq` used (before the upstream is called); False if it was used before."""
        try:
            with self.db:
                self.db.execute("INSERT INTO requests (k2, seq, idem, fingerprint, at) VALUES (?, ?, ?, ?, ?)",
                                (k2, seq, idem, fingerprint, now))
            return True
        except sqlite3.IntegrityError:
            return False

    def answer(self, k2: str, idem: str) -> Optional[StoredAnswer]:
        row = self.db.execute("SELECT done, fingerprint, status, headers, body, receipt FROM requests "
                              "WHERE k2 = ? AND idem = ?", (k2, idem)).fetchone()
        if row is None:
            return None
        done, fingerprint, status, headers, body, receipt = row
        return StoredAnswer(bool(done), fingerprint, status or 0, json.loads(headers or "[]"), body or b"",
                            receipt or "")

    def finish(self, k2: str, seq: int, status: int, charged: int, receipt: str, record: Optional[dict], now: int,
               keep: Optional[tuple] = None) -> None:
        """One transaction: the request done, its charge, the channel's record (the ledger) and,
        under an Idempotency-Key, the answer (`keep`: headers, body) to give again on a retry."""
        headers, body = (json.dumps(keep[0]), keep[1]) if keep else (None, None)
        with self.db:
            self.db.execute("UPDATE requests SET done = 1, status = ?, charged = ?, receipt = ?, headers = ?, "
                            "body = ?, idem = CASE WHEN ? THEN idem ELSE '' END WHERE k2 = ? AND seq = ?",
                            (status, charged, receipt, headers, body, keep is not None, k2, seq))
            if record is not None:
                self.db.execute("UPDATE channels SET record = ?, last_used = ? WHERE k2 = ?",
                                (json.dumps(record), now, k2))
            if charged:
                self.db.execute("INSERT INTO meta VALUES ('revenue_sat', ?) ON CONFLICT (key) DO UPDATE SET "
                                "value = CAST(value AS INTEGER) + excluded.value", (str(charged),))

    def expire_answers(self, before: int) -> None:
        """Answers kept for Idempotency-Key retries are dropped after a day; the sequence numbers
        stay used for as long as the channel is stored."""
        with self.db:
            self.db.execute("UPDATE requests SET headers = NULL, body = NULL, idem = '' "
                            "WHERE done = 1 AND at < ? AND idem != ''", (before,))
