"""Marking a message sent (both stores; on PostgreSQL through the connection kept for it): the
rows are sent with their Message-ID and the log line is written with them; a mark whose kept
connection was cut takes the pool's way and is not lost; closing the store hands the kept
connection back with the durability every other write relies on."""

from __future__ import annotations

import contextlib

import asyncpg

from augenmass.store import reads
from augenmass.store.outbox import LogEntry, NewItem, Outbox

from .conftest import PG_URL, Db


def _item(contact: str) -> NewItem:
    return NewItem(contact, "email", "PROBLEM", "www1", "website", 2, 1, 100.0, "down", {})


def _entry(contact: str) -> LogEntry:
    return LogEntry(101.0, contact, "email", "PROBLEM", "www1/website", 1, "sent", "")


async def test_a_mark_sets_the_rows_sent_and_writes_the_log_line(db: Db) -> None:
    store = await db.open()
    try:
        outbox = Outbox.of(store)
        assert (store.sent_marks is not None) == (db.kind == "postgres")
        await outbox.add([_item("ada"), _item("bob")], 100.0, 100.0)
        ada, bob = await outbox.pending()
        await outbox.mark_attempting([ada.id], "<m1@x>")  # opens the kept connection
        await outbox.mark_sent([ada.id], "<m1@x>", 101.0, _entry("ada"))
        await outbox.mark_sent([ada.id], "<m1@x>", 102.0, None)  # again: nothing changes
        [left] = await outbox.pending()
        assert left.id == bob.id
        assert await reads.outbox_counts(store) == {"pending": 1, "sent": 1, "failed": 0}
        [line] = await reads.notification_log(store, 0, 200)
        assert (line["contact"], line["result"]) == ("ada", "sent")
        if store.sent_marks is not None:
            # the kept connection is cut (PostgreSQL restarted, a DBA's pg_terminate_backend):
            # the next mark takes the pool's way and is written all the same
            con = await asyncpg.connect(PG_URL)
            try:
                cut = await con.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = 'test' AND pid <> pg_backend_pid()"
                    " AND query LIKE '%notify_outbox%' AND state = 'idle'"
                )
            finally:
                await con.close()
            assert cut >= 1
        await outbox.mark_sent([bob.id], "<m2@x>", 103.0, _entry("bob"))
        assert await reads.outbox_counts(store) == {"pending": 0, "sent": 2, "failed": 0}
        assert len(await reads.notification_log(store, 0, 200)) == 2
    finally:
        await store.close()


async def test_closing_hands_the_connection_back_with_synchronous_commit(db: Db) -> None:
    if db.kind != "postgres":
        return  # SQLite has no kept connection
    store = await db.open()
    try:
        outbox = Outbox.of(store)
        await outbox.add([_item("ada")], 100.0, 100.0)
        [ada] = await outbox.pending()
        await outbox.mark_attempting([ada.id], "<m1@x>")
        await outbox.mark_sent([ada.id], "<m1@x>", 101.0, None)
        marks = store.sent_marks
        assert marks is not None and marks._conn is not None
        pid = (await marks._conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        await marks.close()
        async with contextlib.AsyncExitStack() as held:  # check out until that connection comes
            for _ in range(8):
                conn = await held.enter_async_context(store.engine.connect())
                if (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one() == pid:
                    setting = await conn.exec_driver_sql("SHOW synchronous_commit")
                    assert setting.scalar_one() == "on"
                    break
            else:
                raise AssertionError("the kept connection did not come back to the pool")
    finally:
        await store.close()
