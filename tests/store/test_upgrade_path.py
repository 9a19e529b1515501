"""Every released schema upgrades to head with `augenmass db upgrade`, keeps its rows, and the
store then works on it; a schema newer than this version knows is refused, untouched."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from augenmass.core.values import CheckKey, CheckResult, CheckState
from augenmass.store import WriteBatch, codec, database, open_store
from augenmass.store.database import SchemaTooNew

from .conftest import Db
from .helpers import WEB, downtime, event, state

REVISIONS = ["0001", "0002", "0003", "0004"]
DB_KEY = CheckKey("db1", "postgres")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as an operator runs it."""
    cmd = [sys.executable, "-m", "augenmass", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _engine(db: Db) -> AsyncEngine:
    path = database.sqlite_path(db.url)
    if path is not None:
        return database.make_sqlite_engine(path, 5000)
    return database.make_pg_engine(db.url, db.schema)


def _store_args(db: Db) -> list[str]:
    url = db.url if db.schema is None else f"{db.url}?schema={db.schema}"
    return ["--store", url]


def _insert(table: str, rows: list[dict[str, object]]) -> sa.Insert:
    """An INSERT naming only these columns: it does not lean on today's table definitions."""
    return sa.insert(sa.table(table, *(sa.column(c) for c in rows[0])))


# Rows as each revision allowed them (the columns of that revision's tables).
def _rows_at(rev: str) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {
        "check_state": [codec.state_row(state(WEB, 2)), codec.state_row(state(DB_KEY, 1))],
        "event": [codec.event_row(event(1000.0 + i)) for i in range(3)],
        "downtime": [codec.downtime_row(downtime("dt-1"))],
    }
    if rev >= "0002":
        rows["notify_outbox"] = [{
            "created": 1000.0, "due": 1000.0, "status": "pending", "contact": "ops",
            "channel": "email", "type": "PROBLEM", "host": "web1", "service": "http",
            "state": 2, "number": 1, "at": 1000.0, "output": "down", "data": "{}",
            "attempts": 0, "last_error": "", "sent_at": None, "message_id": "",
        }]  # fmt: skip
        rows["notify_log"] = [{
            "at": 1000.0, "contact": "ops", "channel": "email", "type": "PROBLEM",
            "checks": "web1/http", "notifications": 1, "result": "sent", "detail": "",
        }]  # fmt: skip
    if rev >= "0003":
        rows["users"] = [
            {"name": "admin", "password_hash": "$argon2id$x", "role": "admin", "created": 1.0}
        ]
        rows["audit_log"] = [
            {
                "at": 1000.0,
                "user_name": "admin",
                "action": "acknowledge",
                "target": "web1/http",
                "detail": "",
            }  # fmt: skip
        ]
    if rev >= "0004":
        # an action a standby passed on, not applied yet: the active server applies it later
        rows["cluster_command"] = [
            {"created": 1000.0, "origin": "monitor-2", "command": '{"action": "check_now"}'}
        ]
    return rows


async def _make_at(db: Db, rev: str) -> dict[str, list[dict[str, object]]]:
    eng = _engine(db)
    rows = _rows_at(rev)
    try:
        async with eng.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(database.alembic_config(c), rev))
            for table, values in rows.items():
                await conn.execute(_insert(table, values), values)
        assert await database.current_revision(eng) == rev
    finally:
        await eng.dispose()
    return rows


async def _count(db: Db, table: str) -> int:
    eng = _engine(db)
    try:
        async with eng.connect() as conn:
            return int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
    finally:
        await eng.dispose()


@pytest.mark.parametrize("rev", REVISIONS)
async def test_each_released_schema_upgrades_to_head_and_the_store_works_on_it(
    db: Db, rev: str
) -> None:
    rows = await _make_at(db, rev)
    head = database.head_revision()

    status = cli("db", "status", *_store_args(db))
    assert status.returncode == 0, status.stderr
    assert f"current revision: {rev}" in status.stdout
    assert f"head revision: {head}" in status.stdout
    waiting = database.known_revisions()[database.known_revisions().index(rev) + 1 :]
    assert f"pending migrations: {len(waiting)}" in status.stdout
    for later in waiting:
        assert f"  {later}  " in status.stdout

    up = cli("db", "upgrade", *_store_args(db))
    assert up.returncode == 0, up.stderr
    if waiting:
        assert f"upgraded from {rev} to {head}" in up.stdout
        assert all(f"applied {later}" in up.stdout for later in waiting)
    else:
        assert "nothing to do" in up.stdout
    assert "pending migrations: 0" in cli("db", "status", *_store_args(db)).stdout
    for table, values in rows.items():
        assert await _count(db, table) == len(values), table

    store = await db.open()
    try:
        snap = await store.load()
        assert snap.states[WEB].state == 2 and snap.states[DB_KEY].state == 1
        assert set(snap.downtimes) == {"dt-1"}
        assert len(await store.history(WEB, 0, 1e10)) == 3
        res = CheckResult(key=WEB, status=0, output="back", started_at=2000.0)
        up_again = CheckState(key=WEB, state=0, checked=True, last_check=2000.0)
        await store.write(WriteBatch(results=[res], states=[up_again], events=[event(2000.0)]))
        assert [r.output for r in await store.last_results(WEB)] == ["back"]
        assert (await store.load()).states[WEB].state == 0
        assert len(await store.history(WEB, 0, 1e10)) == 4
    finally:
        await store.close()


async def test_a_schema_newer_than_this_version_is_refused_and_left_alone(db: Db) -> None:
    await _make_at(db, database.head_revision())
    eng = _engine(db)
    try:
        async with eng.begin() as conn:
            await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        await eng.dispose()
    head = database.head_revision()

    with pytest.raises(SchemaTooNew) as err:
        await db.open()
    assert "0099" in str(err.value) and head in str(err.value)
    for args in (["db", "status"], ["db", "upgrade"]):
        out = cli(*args, *_store_args(db))
        assert out.returncode == 1, out.stdout
        assert "0099" in out.stderr and head in out.stderr
    eng = _engine(db)
    try:
        assert await database.current_revision(eng) == "0099"
    finally:
        await eng.dispose()
    assert await _count(db, "event") == 3


KILLED_IN_THE_FIRST_MIGRATION = """
import asyncio, os, signal, sys
from alembic import command
from augenmass.store import open_store

real_upgrade = command.upgrade

def upgrade_then_die(config, revision):
    real_upgrade(config, "0002")  # two revisions' tables made, then the power goes
    os.kill(os.getpid(), signal.SIGKILL)

command.upgrade = upgrade_then_die
asyncio.run(open_store(sys.argv[1]))
"""


async def test_a_server_killed_during_its_first_migration_starts_next_time(
    tmp_path: Path,
) -> None:
    """SQLite: the upgrade and its revision stamp commit together. Python's sqlite3 committed
    every CREATE TABLE on its own: a server stopped 0.6 s into its first start left tables
    without their revision, and the next start called the database corrupt."""
    path = tmp_path / "augenmass.db"
    died = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", KILLED_IN_THE_FIRST_MIGRATION, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == -9, died.stderr
    store = await open_store(str(path))
    try:
        assert store.degraded_reason is None  # not moved aside as corrupt, started anew
        await store.write(WriteBatch(states=[state()]))
        assert (await store.load()).states[WEB].state == 2
    finally:
        await store.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            == (REVISIONS[-1])
        )
    engine.dispose()
