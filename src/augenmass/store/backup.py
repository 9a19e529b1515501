"""Online backup of an SQLite store, and restoring one into a stopped data directory.

The backup uses SQLite's backup API from a read-only connection in a single step: that is one
read transaction, so the copy is one consistent snapshot, and in WAL mode the server keeps
writing meanwhile (a file copy could tear a page or miss the WAL). The copy is switched to
rollback-journal mode so it is one self-contained file, written beside the target and renamed.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from augenmass.core.datadir import check_file
from augenmass.core.datalock import exclusive
from augenmass.core.errors import StoreError
from augenmass.store import codec, database, sidecar

BUSY_TIMEOUT = 30.0
_HEADER = b"SQLite format 3\x00"
# Tables every augenmass database has had since the first revision.
_CORE_TABLES = {"alembic_version", "check_state", "event", "downtime", "result", "series"}


class BackupError(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    seconds: float
    revision: str | None


@dataclass(frozen=True, slots=True)
class RestoreReport:
    database: Path
    revision: str
    size: int
    kept_aside: Path | None  # the database it replaced


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fresh_private(path: Path) -> None:
    """An empty file only the owner can read, with no leftovers SQLite would take as its own."""
    for extra in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _read_only(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"  # as_uri escapes '?', '#' and '%' in names


def _copy(src_file: Path, dest: Path) -> str | None:
    """Copy the database at `src_file` into the new file `dest`; returns its revision."""
    src = sqlite3.connect(_read_only(src_file), uri=True, timeout=BUSY_TIMEOUT)
    try:
        dst = sqlite3.connect(dest, timeout=BUSY_TIMEOUT)
        try:
            src.backup(dst)  # pages=-1: one step, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            return _revision(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _revision(con: sqlite3.Connection) -> str | None:
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def _publish(tmp: Path, dest: Path) -> None:
    _fsync(tmp)
    os.replace(tmp, dest)
    _fsync(dest.parent)


def backup_sqlite(db: Path, dest: Path, now: float | None = None) -> BackupReport:
    """Write a consistent copy of the store `db` (it may be in use) to `dest`, mode 0600.

    `dest` may be a directory: the copy is then named augenmass-<UTC time>.db in it."""
    if not db.is_file():
        raise BackupError(f"no database at {db}")
    if dest.is_dir():
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        dest = dest / f"augenmass-{stamp}.db"
    own = {db.resolve().with_name(db.name + extra) for extra in ("", "-wal", "-shm", "-journal")}
    if dest.resolve() in own:
        raise BackupError(f"{dest} is a file of the store itself: choose another name")
    tmp = dest.with_name(dest.name + ".tmp")
    started = time.monotonic()
    try:
        _fresh_private(tmp)
        revision = _copy(db, tmp)
        _publish(tmp, dest)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"backup of {db} failed: {exc}") from exc
    return BackupReport(dest, dest.stat().st_size, time.monotonic() - started, revision)


def inspect_backup(path: Path) -> str:
    """The schema revision of an augenmass backup; BackupError when it is not one we can use."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_HEADER))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc}") from exc
    if head != _HEADER:
        raise BackupError(f"{path} is not an SQLite database")
    try:
        con = sqlite3.connect(_read_only(path), uri=True, timeout=BUSY_TIMEOUT)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            missing = _CORE_TABLES - tables
            if missing:
                raise BackupError(
                    f"{path} is not an augenmass database (no {', '.join(sorted(missing))})"
                )
            problems = [str(r[0]) for r in con.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise BackupError(f"{path} is damaged: {'; '.join(problems)}")
            revision = _revision(con)
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be read as a database: {exc}") from exc
    if revision is None:
        raise BackupError(f"{path} has no schema revision: not an augenmass database")
    if revision not in database.known_revisions():
        raise database.SchemaTooNew(revision, database.head_revision())
    return revision


def _aside_name(db: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    aside = db.with_name(f"{db.name}.before-restore-{stamp}")
    n = 1
    while aside.exists():
        aside = db.with_name(f"{db.name}.before-restore-{stamp}-{n}")
        n += 1
    return aside


def _keep_aside(db: Path, now: float) -> Path | None:
    """Move the database (with its WAL, which may hold committed data) and its sidecar aside."""
    wal = db.with_name(db.name + "-wal")
    if not db.exists() and not wal.exists():
        return None
    aside = _aside_name(db, now)
    if db.exists():
        os.replace(db, aside)
    if wal.exists():
        # SQLite finds "<aside>-wal" beside "<aside>": the kept copy stays complete, and the
        # restored file does not replay a WAL that is not its own.
        os.replace(wal, aside.with_name(aside.name + "-wal"))
    db.with_name(db.name + "-shm").unlink(missing_ok=True)
    side = sidecar.sidecar_path(db)
    if side.exists():
        os.replace(side, sidecar.sidecar_path(aside))
    return aside


def _handling_of(db: Path) -> None:
    """The restored database's acks and downtimes as its sidecar (the store only rewrites it
    when they change, and it is the fallback should this file ever be unreadable)."""
    con = sqlite3.connect(_read_only(db), uri=True, timeout=BUSY_TIMEOUT)
    try:
        acked = con.execute("SELECT data FROM check_state WHERE acknowledged").fetchall()
        planned = con.execute("SELECT data FROM downtime").fetchall()
    finally:
        con.close()
    states = [codec.state_from(data) for (data,) in acked]
    acks = {st.key: st.acknowledgement for st in states if st.acknowledgement is not None}
    downtimes = {dt.id: dt for dt in (codec.downtime_from(data) for (data,) in planned)}
    sidecar.write_sidecar(sidecar.sidecar_path(db), acks, downtimes)


def restore_sqlite(backup: Path, data_dir: Path, now: float | None = None) -> RestoreReport:
    """Replace the store in the stopped `data_dir` with `backup`; the old one is kept aside."""
    revision = inspect_backup(backup)
    db = data_dir / "augenmass.db"
    with exclusive(data_dir, "restore"):
        check_file(db, "the database")  # not a directory, writable: before anything is copied
        tmp = db.with_name(db.name + ".restore-tmp")
        _fresh_private(tmp)
        try:
            _copy(backup, tmp)
            _fsync(tmp)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"could not copy {backup}: {exc}") from exc
        aside = _keep_aside(db, time.time() if now is None else now)
        _publish(tmp, db)
        _handling_of(db)
    return RestoreReport(db, revision, db.stat().st_size, aside)
