"""The agent's local buffer: every result is written here first, and deleted only once the
server has confirmed it. SQLite in WAL mode with synchronous=FULL, so a kill -9 (or a power
cut) at any moment loses no confirmed write.

Each row's `seq` (AUTOINCREMENT: never reused, even after deletes) and the buffer's random
`epoch` are the result's id; the server takes each (epoch, seq) once. Bounded by rows and age:
the oldest rows go first, and how many were dropped is kept (and reported to the server).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augenmass.core.private import tighten

# 72 h of 50 checks at 1-minute intervals is 216,000 results; keep some room beyond it.
DEFAULT_MAX_RESULTS = 250_000
DEFAULT_MAX_AGE = 96 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    measured_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    body: dict[str, Any]


class Buffer:
    def __init__(
        self,
        path: Path,
        max_results: int = DEFAULT_MAX_RESULTS,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.max_results = max_results
        self.max_age = max_age
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        tighten(path, 0o600)  # results may name internal hosts and what is wrong with them
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        epoch = self._meta("epoch")
        if epoch is None:
            epoch = secrets.token_hex(8)
            self._set_meta("epoch", epoch)
        self.epoch = epoch

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def dropped(self) -> int:
        """Results dropped for the bounds since the buffer was made."""
        return int(self._meta("dropped") or 0)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM results").fetchone()[0])

    def add(self, body: dict[str, Any], now: float) -> int:
        """Store one result (committed when this returns); returns its seq."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO results (measured_at, body) VALUES (?, ?)",
                (float(body["measured_at"]), json.dumps(body, separators=(",", ":"))),
            )
            self._bound(now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(cur.lastrowid or 0)

    def _bound(self, now: float) -> None:
        """Oldest first: past the age, then beyond the row count (inside the open transaction)."""
        db = self._db
        gone = db.execute("DELETE FROM results WHERE measured_at < ?", (now - self.max_age,))
        dropped = gone.rowcount
        count = int(db.execute("SELECT count(*) FROM results").fetchone()[0])
        if count > self.max_results:
            gone = db.execute(
                "DELETE FROM results WHERE seq IN (SELECT seq FROM results ORDER BY seq LIMIT ?)",
                (count - self.max_results,),
            )
            dropped += gone.rowcount
        if dropped:
            self._set_meta("dropped", str(self.dropped + dropped))

    def oldest(self, limit: int, max_bytes: int) -> list[Pending]:
        """Up to `limit` of the oldest results, in order, about `max_bytes` of JSON at most."""
        out: list[Pending] = []
        size = 0
        rows = self._db.execute("SELECT seq, body FROM results ORDER BY seq LIMIT ?", (limit,))
        for seq, body in rows:
            size += len(body)
            if out and size > max_bytes:
                break
            out.append(Pending(int(seq), json.loads(body)))
        return out

    def confirm(self, up_to: int) -> None:
        """The server has everything up to `up_to`: delete it."""
        self._db.execute("DELETE FROM results WHERE seq <= ?", (up_to,))

    def discard(self, seq: int) -> None:
        """One result the server refused for good (logged by the caller): counted as dropped."""
        self._db.execute("BEGIN IMMEDIATE")
        gone = self._db.execute("DELETE FROM results WHERE seq = ?", (seq,)).rowcount
        if gone:
            self._set_meta("dropped", str(self.dropped + gone))
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
