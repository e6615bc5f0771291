"""The devnet's own record of confirmed transactions, outputs and who spent
them, which the kernel does not keep but an Esplora API must answer from.
SQLite (stdlib) so each block lands atomically and look-ups by script hash
(Esplora's sha256 of the output script) are indexed; it is derived data and
catches up from the kernel's block store whenever it is behind (e.g. after a
crash between block and index write) or was written by an older schema."""

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .chain import ChainBlock

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    txid TEXT PRIMARY KEY, raw BLOB NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (
    txid TEXT NOT NULL, vout INTEGER NOT NULL, script BLOB NOT NULL, value INTEGER NOT NULL,
    spent_txid TEXT, spent_vin INTEGER, scripthash BLOB NOT NULL, PRIMARY KEY (txid, vout));
CREATE INDEX IF NOT EXISTS outputs_scripthash ON outputs (scripthash);
CREATE INDEX IF NOT EXISTS outputs_spent ON outputs (spent_txid);
"""


def scripthash(script: bytes) -> bytes:
    """Esplora's (and Electrum's) key for an output script: its SHA-256."""
    return hashlib.sha256(script).digest()


@dataclass(frozen=True)
class Confirmation:
    height: int
    hash: str
    time: int


OUTPUT_COLUMNS = "txid, vout, script, value, spent_txid, spent_vin"


@dataclass(frozen=True)
class Output:
    txid: str
    vout: int
    script: bytes
    value: int
    spent_txid: str | None
    spent_vin: int | None


class Index:
    def __init__(self, path: Path):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Derived data, rebuilt from the kernel if lost: no fsync per block.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            self._db.executescript("DROP TABLE IF EXISTS blocks; DROP TABLE IF EXISTS txs; "
                                   "DROP TABLE IF EXISTS outputs;")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @property
    def height(self) -> int:
        """Highest indexed block, -1 when empty."""
        return self._db.execute("SELECT COALESCE(MAX(height), -1) FROM blocks").fetchone()[0]

    def block_hash(self, height: int) -> str | None:
        row = self._db.execute("SELECT hash FROM blocks WHERE height = ?", (height,)).fetchone()
        return row[0] if row else None

    def block_height(self, block_hash: str) -> int | None:
        row = self._db.execute("SELECT height FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return row[0] if row else None

    def add_block(self, blk: ChainBlock) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("INSERT INTO blocks VALUES (?, ?, ?)", (blk.height, blk.hash, blk.time))
            for position, tx in enumerate(blk.txs):
                txid = tx.txid().hex()
                db.execute("INSERT OR REPLACE INTO txs VALUES (?, ?, ?, ?)",
                           (txid, tx.serialize(), blk.height, position))
                if position:
                    db.executemany(
                        "UPDATE outputs SET spent_txid = ?, spent_vin = ? WHERE txid = ? AND vout = ?",
                        [(txid, vin, inp.txid.hex(), inp.vout) for vin, inp in enumerate(tx.vin)],
                    )
                db.executemany(
                    "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, NULL, NULL, ?)",
                    [(txid, vout, out.script_pubkey.data, out.value, scripthash(out.script_pubkey.data))
                     for vout, out in enumerate(tx.vout)],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def tx(self, txid: str) -> tuple[bytes, Confirmation] | None:
        """Raw bytes and confirmation of a confirmed tx."""
        row = self._db.execute(
            "SELECT raw, t.height, hash, time FROM txs t JOIN blocks b ON b.height = t.height WHERE txid = ?",
            (txid,),
        ).fetchone()
        return (row[0], Confirmation(*row[1:])) if row else None

    def output(self, txid: str, vout: int) -> Output | None:
        row = self._db.execute(f"SELECT {OUTPUT_COLUMNS} FROM outputs WHERE txid = ? AND vout = ?",
                               (txid, vout)).fetchone()
        return Output(*row) if row else None

    def outputs_of(self, script_hash: bytes) -> list[Output]:
        """Confirmed outputs paying the script with this hash, oldest first."""
        rows = self._db.execute(
            f"SELECT {OUTPUT_COLUMNS} FROM outputs o JOIN txs t USING (txid) WHERE scripthash = ? "
            "ORDER BY t.height, t.position, o.vout", (script_hash,)).fetchall()
        return [Output(*row) for row in rows]

    def txids_of(self, script_hash: bytes) -> list[str]:
        """Confirmed txs funding or spending the script with this hash, newest first."""
        rows = self._db.execute(
            """SELECT txid FROM txs WHERE txid IN (
                   SELECT txid FROM outputs WHERE scripthash = ?
                   UNION SELECT spent_txid FROM outputs WHERE scripthash = ? AND spent_txid IS NOT NULL)
               ORDER BY height DESC, position DESC""",
            (script_hash, script_hash),
        ).fetchall()
        return [row[0] for row in rows]
