"""The "sent" mark on PostgreSQL, as soon after the channel's confirmation as it can be.

Between the relay's 250 and this mark, a kill -9 makes the next server (or the next start) send
the message again: the one duplicate no sender can rule out. Through the pool that mark took
8-25 ms on a busy server (check-out with a ping, BEGIN, two statements, COMMIT, each an await
where other tasks run); here it is ONE statement on a connection kept for it: the update of the
rows and the log line in a data-modifying CTE, autocommitted.

The connection commits with `synchronous_commit = off`: the mark is visible to every session at
once (a standby taking over sees it), and only a crash of PostgreSQL itself within a fraction of
a second could lose it, which again means a duplicate, never a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import sqlalchemy as sa

from augenmass.store.aio import AsyncConnection, AsyncEngine

MARK_TIMEOUT = 5.0  # seconds; then the pool's way (a link that hangs rather than fails)
CLOSE_TIMEOUT = 2.0
_UPDATE = (
    "UPDATE notify_outbox SET status = 'sent', sent_at = :now, message_id = :message_id,"
    " attempts = attempts + 1 WHERE id = ANY(:ids) AND status = 'pending'"
)


@functools.cache
def _statements() -> tuple[sa.TextClause, sa.TextClause]:
    """The mark, and the mark with its log line. Made on first use: PostgreSQL's dialect (its
    ARRAY type) is not imported by a server on SQLite."""
    from sqlalchemy.dialects.postgresql import ARRAY

    ids = sa.bindparam("ids", type_=ARRAY(sa.BigInteger))
    mark = sa.text(_UPDATE).bindparams(ids)
    mark_and_log = sa.text(
        f"WITH marked AS ({_UPDATE} RETURNING 1) INSERT INTO notify_log"
        " (at, contact, channel, type, checks, notifications, result, detail)"
        " VALUES (:at, :contact, :channel, :type, :checks, :notifications, :result, :detail)"
    ).bindparams(ids)
    return mark, mark_and_log


class SentMarks:
    """One connection of `engine` (PostgreSQL), opened before the first send and kept."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection

    async def ready(self) -> None:
        """Open the connection now (before a send), not in the window after it."""
        async with self._lock:
            await self._open()

    async def _open(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            try:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("SET synchronous_commit = off")
            except BaseException:
                await _drop(conn)
                raise
            self._conn = conn
        return self._conn

    async def mark(
        self, ids: list[int], message_id: str, now: float, log: dict[str, Any] | None
    ) -> None:
        params: dict[str, Any] = {"ids": ids, "now": now, "message_id": message_id}
        async with self._lock, asyncio.timeout(MARK_TIMEOUT):
            conn = await self._open()
            try:
                mark, mark_and_log = _statements()
                if log is None:
                    await conn.execute(mark, params)
                else:
                    await conn.execute(mark_and_log, {**params, **log})
            except BaseException:
                # never hand a connection in an unknown state (or with its setting) to the pool
                self._conn = None
                await _drop(conn)
                raise

    async def close(self) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._lock.acquire()
        except TimeoutError:  # a mark hangs on a cut link: drop its connection, do not wait
            conn, self._conn = self._conn, None
            if conn is not None:
                await _drop(conn)
            return
        try:
            conn, self._conn = self._conn, None
            if conn is not None:
                # the pool gets it back: with the durability every other writer relies on
                try:
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await conn.exec_driver_sql("RESET synchronous_commit")
                        await conn.close()
                except Exception:
                    await _drop(conn)
        finally:
            self._lock.release()


async def _drop(conn: AsyncConnection) -> None:
    """Close the connection for good (no network round trip: a cut link cannot hold this up)
    and give its place in the pool back."""
    with contextlib.suppress(Exception):
        if conn.sync_connection is not None:
            conn.sync_connection.invalidate()  # asyncpg's terminate(): no waiting
    with contextlib.suppress(Exception):
        await conn.close()
