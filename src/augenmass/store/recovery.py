"""Start-up checks of an SQLite file, and moving a corrupt one aside.

A corrupt store must not stop the server nor crash-loop it (reliability.md §39): the file is
kept as "<name>.corrupt-<sha256[:12]>" (a restart loop re-uses the same name instead of filling
the disk) and the server starts on a fresh database.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger("augenmass.store")

_HEADER = b"SQLite format 3\x00"
# quick_check reads every page; above this size only the cheap checks run, so start-up of a
# big store stays fast (loading states and downtimes still reads the tables we need).
QUICK_CHECK_MAX_BYTES = 512 * 1024 * 1024


def sqlite_problem(path: Path) -> str | None:
    """Why the file at `path` is not a usable SQLite database, or None (also when absent)."""
    try:
        size = path.stat().st_size
        if size == 0:
            # Our stores are never empty after migration: an empty file means a lost write.
            return "database file is empty (0 bytes)"
        with path.open("rb") as f:
            head = f.read(len(_HEADER))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"database file cannot be read: {exc}"
    if head != _HEADER:
        return "not an SQLite database (bad header)"
    return _sqlite_check(path, size)


def _sqlite_check(path: Path, size: int) -> str | None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return f"cannot open database: {exc}"
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if size <= QUICK_CHECK_MAX_BYTES:
            rows = con.execute("PRAGMA quick_check(5)").fetchall()
            if rows != [("ok",)]:
                return "integrity check failed: " + "; ".join(str(r[0]) for r in rows)
    except sqlite3.Error as exc:
        return f"database is unreadable: {exc}"
    finally:
        con.close()
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def quarantine(path: Path) -> Path:
    """Move `path` (and its -wal) aside under a checksum name; drop its -shm. Returns the name."""
    digest = _sha256(path)[:12]
    aside = path.with_name(f"{path.name}.corrupt-{digest}")
    if aside.exists():
        path.unlink()  # same content already kept by an earlier start
    else:
        os.replace(path, aside)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        # The WAL belongs to the corrupt file; replayed into a fresh one it would do harm.
        os.replace(wal, aside.with_name(aside.name + "-wal"))
    shm = path.with_name(path.name + "-shm")
    if shm.exists():
        shm.unlink()
    return aside
