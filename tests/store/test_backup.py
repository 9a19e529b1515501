"""Backup and restore of an SQLite store: the copy, and what restore refuses."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from augenmass.core.datalock import DataDirBusy, hold
from augenmass.store import WriteBatch, database, open_store
from augenmass.store.backup import BackupError, backup_sqlite, inspect_backup, restore_sqlite
from augenmass.store.database import SchemaTooNew, head_revision
from augenmass.store.sidecar import read_sidecar, sidecar_path, write_sidecar

from .helpers import WEB, ack, downtime, event, state


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def _make_store(db: Path, events: int) -> None:
    s = await open_store(str(db))
    await s.write(
        WriteBatch(states=[state(WEB)], events=[event(1000.0 + i) for i in range(events)])
    )
    await s.close()


async def test_backup_of_a_store_in_use_is_a_private_self_contained_copy(tmp_path: Path) -> None:
    db = tmp_path / "data" / "augenmass.db"
    s = await open_store(str(db))
    try:
        await s.write(
            WriteBatch(states=[state(WEB)], events=[event(1000.0 + i) for i in range(50)])
        )
        # still open: the newest rows are in the WAL, not yet in the main file
        assert (db.parent / "augenmass.db-wal").stat().st_size > 0
        out = tmp_path / "backup.db"
        rep = backup_sqlite(db, out)
    finally:
        await s.close()
    assert rep.size == out.stat().st_size > 0
    assert rep.revision == head_revision()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (tmp_path / "backup.db.tmp").exists()
    assert not (tmp_path / "backup.db-wal").exists()
    assert _rows(out, "PRAGMA journal_mode") == [("delete",)]
    assert _rows(out, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(out, "SELECT count(*) FROM event") == [(50,)]
    assert _rows(out, "SELECT host, service, state FROM check_state") == [("web1", "http", 2)]


async def test_backup_refuses_to_overwrite_the_store_itself(tmp_path: Path) -> None:
    db = tmp_path / "augenmass.db"
    await _make_store(db, 1)
    for name in ("augenmass.db", "augenmass.db-wal"):
        with pytest.raises(BackupError, match="a file of the store itself"):
            backup_sqlite(db, tmp_path / name)
    assert _rows(db, "SELECT count(*) FROM event") == [(1,)]


def test_backup_of_a_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database at"):
        backup_sqlite(tmp_path / "augenmass.db", tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists()


async def test_restore_replaces_the_store_and_keeps_the_old_one_aside_with_its_wal(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src" / "augenmass.db"
    await _make_store(src, 7)
    backup = tmp_path / "b.db"
    backup_sqlite(src, backup)

    data = tmp_path / "data"
    db = data / "augenmass.db"
    await _make_store(db, 3)
    # a server killed with rows only in its WAL: copy the files while a connection holds them
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute(
        "INSERT INTO event (at, host, service, kind, state, state_type, attempt, output,"
        " data) VALUES (1, 'old', '', 'state', 0, 'HARD', 1, 'only in the wal', '{}')"
    )
    con.commit()
    for extra in ("", "-wal", "-shm"):
        shutil.copy(db.with_name("augenmass.db" + extra), tmp_path / ("crashed" + extra))
    con.close()
    for extra in ("", "-wal", "-shm"):
        shutil.copy(tmp_path / ("crashed" + extra), db.with_name("augenmass.db" + extra))
    assert (data / "augenmass.db-wal").stat().st_size > 0

    rep = restore_sqlite(backup, data, now=1_800_000_000.0)
    assert rep.revision == head_revision()
    assert rep.kept_aside == data / "augenmass.db.before-restore-20270115T080000Z"
    assert not (data / "augenmass.db-wal").exists()
    assert not (data / "augenmass.db-shm").exists()
    assert _rows(db, "SELECT count(*) FROM event") == [(7,)]
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    # the kept copy is complete: its WAL moved with it
    assert _rows(rep.kept_aside, "SELECT count(*) FROM event") == [(4,)]
    # a second restore in the same second does not overwrite the first kept copy
    again = restore_sqlite(backup, data, now=1_800_000_000.0)
    assert again.kept_aside is not None and again.kept_aside != rep.kept_aside
    assert rep.kept_aside.exists()

    s = await open_store(str(db))
    try:
        assert WEB in (await s.load()).states
    finally:
        await s.close()


def test_restore_refuses_while_a_server_holds_the_lock(tmp_path: Path) -> None:
    backup = tmp_path / "b.db"
    asyncio.run(_make_store(tmp_path / "src.db", 2))
    backup_sqlite(tmp_path / "src.db", backup)
    data = tmp_path / "data"
    asyncio.run(_make_store(data / "augenmass.db", 5))
    held = hold(data)  # what a running server holds for its lifetime
    try:
        busy = f"augenmass server \\(pid {os.getpid()}\\) is running"
        with pytest.raises(DataDirBusy, match=busy):
            restore_sqlite(backup, data)
    finally:
        os.close(held)
    assert _rows(data / "augenmass.db", "SELECT count(*) FROM event") == [(5,)]
    assert not list(data.glob("*before-restore*"))
    restore_sqlite(backup, data)  # released: now it goes
    assert _rows(data / "augenmass.db", "SELECT count(*) FROM event") == [(2,)]


def test_a_pid_file_naming_a_live_process_does_not_block_restore(tmp_path: Path) -> None:
    """The lock is the one sign of a running server: a pid file left by an older version (or
    by kill -9) may name any process by now, and must neither block nor be trusted."""
    backup = tmp_path / "b.db"
    asyncio.run(_make_store(tmp_path / "src.db", 2))
    backup_sqlite(tmp_path / "src.db", backup)
    data = tmp_path / "data"
    asyncio.run(_make_store(data / "augenmass.db", 5))
    proc = subprocess.Popen(["sleep", "60"])
    try:
        (data / "augenmass.pid").write_text(f"{proc.pid}\n")
        (data / "augenmass.lock").write_text(f"{proc.pid}\n")
        restore_sqlite(backup, data)
        assert proc.poll() is None  # untouched
    finally:
        proc.kill()
        proc.wait()
    assert _rows(data / "augenmass.db", "SELECT count(*) FROM event") == [(2,)]


async def test_restore_refuses_what_is_not_an_augenmass_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _make_store(data / "augenmass.db", 5)
    text = tmp_path / "notes.txt"
    text.write_text("hello" * 100)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    cut = tmp_path / "cut.db"
    backup_sqlite(data / "augenmass.db", cut)
    cut.write_bytes(cut.read_bytes()[:8192])
    for bad, why in (
        (text, "not an SQLite database"),
        (other, "not an augenmass database"),
        (cut, "damaged|cannot be read"),
    ):
        with pytest.raises(BackupError, match=why):
            restore_sqlite(bad, data)
    assert _rows(data / "augenmass.db", "SELECT count(*) FROM event") == [(5,)]
    assert not list(data.glob("*before-restore*"))


async def test_restore_refuses_a_backup_of_a_newer_schema(tmp_path: Path) -> None:
    backup = tmp_path / "b.db"
    await _make_store(tmp_path / "src.db", 2)
    backup_sqlite(tmp_path / "src.db", backup)
    con = sqlite3.connect(backup)
    con.execute("UPDATE alembic_version SET version_num = '0099'")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNew) as err:
        inspect_backup(backup)
    assert "0099" in str(err.value) and head_revision() in str(err.value)
    with pytest.raises(SchemaTooNew):
        restore_sqlite(backup, tmp_path / "data")
    assert not (tmp_path / "data" / "augenmass.db").exists()


async def test_a_restored_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    await _make_store(tmp_path / "src.db", 2)
    backup = tmp_path / "b.db"
    backup_sqlite(tmp_path / "src.db", backup)
    os.chmod(backup, 0o644)
    rep = restore_sqlite(backup, tmp_path / "data")
    assert stat.S_IMODE(rep.database.stat().st_mode) == 0o600


async def test_a_backup_of_an_older_schema_is_restored_and_upgraded_when_opened(
    tmp_path: Path,
) -> None:
    from alembic import command

    old = tmp_path / "old.db"
    eng = database.make_sqlite_engine(old, 5000)
    async with eng.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(database.alembic_config(c), "0002"))
    await eng.dispose()
    backup = tmp_path / "b.db"
    assert backup_sqlite(old, backup).revision == "0002"
    rep = restore_sqlite(backup, tmp_path / "data")
    assert rep.revision == "0002" and rep.kept_aside is None
    s = await open_store(str(rep.database))
    try:
        assert await database.current_revision(s.engine) == head_revision()
    finally:
        await s.close()


async def test_a_backup_into_a_directory_gets_a_dated_name(tmp_path: Path) -> None:
    await _make_store(tmp_path / "src.db", 2)
    (tmp_path / "backups").mkdir()
    rep = backup_sqlite(tmp_path / "src.db", tmp_path / "backups", now=1_800_000_000.0)
    assert rep.path == tmp_path / "backups" / "augenmass-20270115T080000Z.db"
    assert _rows(rep.path, "SELECT count(*) FROM event") == [(2,)]


async def test_a_restore_writes_the_handling_sidecar_of_the_restored_database(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src.db"
    s = await open_store(str(src))
    acked = state(WEB, acknowledgement=ack())
    await s.write(WriteBatch(states=[acked], downtimes_set=[downtime()]))
    await s.close()
    backup = tmp_path / "b.db"
    backup_sqlite(src, backup)
    data = tmp_path / "data"
    await _make_store(data / "augenmass.db", 1)  # with a sidecar of its own, now stale
    write_sidecar(sidecar_path(data / "augenmass.db"), {}, {})
    rep = restore_sqlite(backup, data)
    acks, downtimes = read_sidecar(sidecar_path(rep.database))
    assert acks == {WEB: ack()}
    assert set(downtimes) == {"dt-1"}
    assert rep.kept_aside is not None and sidecar_path(rep.kept_aside).exists()
