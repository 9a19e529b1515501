"""Store access for the outbox and the notification log (SQLite or PostgreSQL).

Every change is its own short transaction that starts with a write, so SQLite never has to
upgrade a read transaction to a write one (which fails at once instead of waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.messages import Item, scrub
from augenmass.store.aio import AsyncEngine
from augenmass.store.codec import clean_text
from augenmass.store.database import disk_full
from augenmass.store.lease import Fence
from augenmass.store.notify_schema import notify_log, notify_outbox
from augenmass.store.outboxrows import (
    PENDING,
    SLICE,
    NewItem,
    Queued,
    build_rows,
    insert_rows,
)
from augenmass.store.sentmark import SentMarks

if TYPE_CHECKING:
    from augenmass.store.store import Store

log = logging.getLogger("augenmass.notify")

SENT, FAILED = "sent", "failed"
__all__ = ["NewItem", "Queued", "Outbox", "LogEntry", "GroupDue", "count_by_status"]
WRITE_TRIES = 8  # "database is locked" under a write storm: retried, 0.05 s doubling (~13 s)
MAX_PENDING_READ = 20_000  # one dispatcher pass reads at most this many rows


def _groups_query() -> sa.Select[Any]:
    """Per contact and channel: first due, latest due of a failed row, count (built once:
    the dispatcher asks this on every pass)."""
    o = notify_outbox.c
    failed_due = sa.func.max(sa.case((o.attempts > 0, o.due), else_=None))
    return (
        sa.select(o.contact, o.channel, sa.func.min(o.due), failed_due, sa.func.count())
        .where(o.status == PENDING)
        .group_by(o.contact, o.channel)
    )


_GROUPS = _groups_query()


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: float
    contact: str
    channel: str
    type: str
    checks: str
    notifications: int
    result: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class GroupDue:
    """Timing of the pending rows of one contact and channel."""

    contact: str
    channel: str
    first_due: float
    backoff_due: float | None  # the latest due of rows that failed before
    count: int


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine,
        write_lock: asyncio.Lock | None = None,
        clock: Clock | None = None,
        fence: Fence | None = None,
        sent_marks: SentMarks | None = None,
    ) -> None:
        self._engine = engine
        self._marks = sent_marks  # PostgreSQL: the short way to mark a message sent
        # active/standby: every write carries the lease token and fails (Fenced) without it
        self._fence = fence or Fence()
        self._clock: Clock = clock or SystemClock()  # the pauses between write retries
        # the store's own write lock: one SQLite writer per process, no "database is locked"
        self._lock = write_lock or asyncio.Lock()

    @classmethod
    def of(cls, store: Store, clock: Clock | None = None) -> Outbox:
        """The outbox in `store`'s database, sharing its write lock."""
        return cls(store.engine, store.write_lock, clock, store.fence, store.sent_marks)

    @contextlib.asynccontextmanager
    async def _write(self, fenced: bool = True, locked: bool = True) -> AsyncIterator[Any]:
        async with contextlib.AsyncExitStack() as stack:
            if locked or self._engine.dialect.name == "sqlite":
                await stack.enter_async_context(self._lock)
            conn = await stack.enter_async_context(self._engine.begin())
            if fenced:
                await self._fence.check(conn)
            yield conn

    async def _retry(self, job: Any, fenced: bool = True, locked: bool = True) -> None:
        delay = 0.05
        for attempt in range(WRITE_TRIES):
            try:
                async with self._write(fenced, locked) as conn:
                    await job(conn)
                return
            except sa.exc.OperationalError as exc:
                if attempt == WRITE_TRIES - 1 or disk_full(exc):
                    raise  # a full disk is not a lock to wait out: the caller holds the mark
                log.warning("outbox write failed; retrying", extra={"attempt": attempt + 1})
                await self._clock.sleep(delay)
                delay *= 2

    async def add(self, items: Iterable[NewItem], now: float, due: float) -> int:
        """Write all rows in ONE transaction of their own; returns how many. (The server
        writes its rows with the state change instead: WriteBatch.notifications.)"""
        rows = await build_rows([Queued(tuple(items), now, due)])
        if rows:

            async def job(conn: Any) -> None:
                await insert_rows(conn, rows)

            await self._retry(job)
        return len(rows)

    async def groups(self) -> list[GroupDue]:
        """Per contact and channel: when its pending rows are due (cheap: no row bodies)."""
        async with self._engine.connect() as conn:
            return [
                GroupDue(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3]), int(r[4]))
                for r in await conn.execute(_GROUPS)
            ]

    async def pending_of(self, contact: str, channel: str, limit: int) -> list[Item]:
        o = notify_outbox.c
        q = (
            sa.select(notify_outbox)
            .where(o.status == PENDING, o.contact == contact, o.channel == channel)
            .order_by(o.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return await _items(rows)

    async def pending(self, limit: int = MAX_PENDING_READ) -> list[Item]:
        o = notify_outbox.c
        q = sa.select(notify_outbox).where(o.status == PENDING).order_by(o.id).limit(limit)
        async with self._engine.connect() as conn:
            return [_item(row) for row in await conn.execute(q)]

    async def mark_sent(
        self, ids: list[int], message_id: str, now: float, entry: LogEntry | None = None
    ) -> None:
        """Mark the rows sent (and write the log line `entry` in the same transaction)."""
        o = notify_outbox.c
        stmt = (
            sa.update(notify_outbox)
            .where(o.id.in_(ids), o.status == PENDING)
            .values(status=SENT, sent_at=now, message_id=message_id, attempts=o.attempts + 1)
        )

        if self._marks is not None:
            try:
                line = None if entry is None else _log_row(entry)
                await self._marks.mark(ids, message_id, now, line)
                return
            except Exception as exc:  # the pool's way below, with its retries
                log.debug("quick sent mark failed", extra={"error": type(exc).__name__})

        async def job(conn: Any) -> None:
            await conn.execute(stmt)
            if entry is not None:
                await conn.execute(sa.insert(notify_log), [_log_row(entry)])

        # Not fenced: the channel confirmed the send, a fact whoever holds the lease now must
        # know, or it sends the rows again (and one statement less keeps the window between
        # the confirmation and this mark, where a kill -9 makes a duplicate, short). For the
        # same window, on PostgreSQL it does not queue behind the result writer's transaction
        # for this process's write lock (there only for SQLite's single writer).
        await self._retry(job, fenced=False, locked=False)

    async def mark_attempting(self, ids: list[int], message_id: str) -> None:
        """Note the Message-ID a send is about to use: should the rows go out again in other
        company (a crash after the channel took them), that message refers to this one.

        With a lease this is also the claim before the send: it raises `Fenced` (and nothing
        may be sent) when this server is no longer the active one."""
        o = notify_outbox.c
        stmt = (
            sa.update(notify_outbox)
            .where(o.id.in_(ids), o.status == PENDING, o.message_id != message_id)
            .values(message_id=message_id)
        )

        async def job(conn: Any) -> None:
            await conn.execute(stmt)

        await self._retry(job)
        if self._marks is not None:
            with contextlib.suppress(Exception):  # then the mark takes the pool's way
                await self._marks.ready()

    async def mark_attempt(
        self, ids: list[int], error: str, due: float | None, entry: LogEntry | None = None
    ) -> None:
        """A failed attempt: retry at `due`, or give up (due None); and the log line `entry`
        in the same transaction."""
        o = notify_outbox.c
        values: dict[str, Any] = {"attempts": o.attempts + 1, "last_error": scrub(error)}
        if due is None:
            values["status"] = FAILED
        else:
            values["due"] = due
        stmt = sa.update(notify_outbox).where(o.id.in_(ids), o.status == PENDING).values(values)

        async def job(conn: Any) -> None:
            await conn.execute(stmt)
            if entry is not None:
                await conn.execute(sa.insert(notify_log), [_log_row(entry)])

        await self._retry(job)

    async def thread_of(self, contact: str, channel: str, host: str, service: str) -> str:
        """The Message-ID of the newest sent PROBLEM for this contact and check ('' if none)."""
        o = notify_outbox.c
        q = (
            sa.select(o.message_id)
            .where(
                o.contact == contact,
                o.channel == channel,
                o.host == host,
                o.service == service,
                o.type == "PROBLEM",
                o.status == SENT,
            )
            .order_by(o.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            return str(await conn.scalar(q) or "")

    async def log(self, entries: Iterable[LogEntry]) -> None:
        rows = [_log_row(e) for e in entries]
        if rows:

            async def job(conn: Any) -> None:
                await conn.execute(sa.insert(notify_log), rows)

            await self._retry(job)

    async def counts(self) -> dict[str, int]:
        return await count_by_status(self._engine)

    async def failed(self, limit: int = 100) -> list[Item]:
        o = notify_outbox.c
        q = sa.select(notify_outbox).where(o.status == FAILED).order_by(o.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_item(row) for row in await conn.execute(q)]


async def count_by_status(engine: AsyncEngine) -> dict[str, int]:
    """Outbox rows per status: pending, sent, failed (zero when there are none)."""
    o = notify_outbox.c
    q = sa.select(o.status, sa.func.count()).group_by(o.status)
    async with engine.connect() as conn:
        found = {str(s): int(n) for s, n in await conn.execute(q)}
    return {k: found.get(k, 0) for k in (PENDING, SENT, FAILED)}


def _log_row(e: LogEntry) -> dict[str, Any]:
    return {
        "at": e.at,
        "contact": e.contact,
        "channel": e.channel,
        "type": e.type,
        "checks": clean_text(e.checks, 1000),
        "notifications": e.notifications,
        "result": e.result,
        "detail": scrub(e.detail),
    }


async def _items(rows: Iterable[Any]) -> list[Item]:
    """Rows → Items, yielding to the loop every SLICE rows (json.loads of thousands adds up)."""
    out: list[Item] = []
    for n, row in enumerate(rows, 1):
        out.append(_item(row))
        if n % SLICE == 0:
            await asyncio.sleep(0)
    return out


def _item(row: Any) -> Item:
    return Item(
        id=int(row.id),
        created=float(row.created),
        contact=row.contact,
        channel=row.channel,
        type=row.type,
        host=row.host,
        service=row.service,
        state=int(row.state),
        number=int(row.number),
        at=float(row.at),
        output=row.output,
        data=json.loads(row.data),
        attempts=int(row.attempts),
        due=float(row.due),
        message_id=row.message_id,
    )
