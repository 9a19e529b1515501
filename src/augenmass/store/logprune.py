"""Retention of the notification log, the sent/failed outbox rows and the audit log.

Rows older than the setting are deleted in batches of at most BATCH rows per table and call, so
one housekeeping pass never holds the write lock for long; a backlog goes over several passes.
Pending outbox rows are never pruned: they are notifications still owed to someone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from augenmass.core.plan import Retention
from augenmass.store.aio import AsyncConnection
from augenmass.store.auth_schema import audit_log
from augenmass.store.notify_schema import notify_log, notify_outbox

BATCH = 5000
_PENDING = "pending"


@dataclass(frozen=True, slots=True)
class LogPruneReport:
    notification_log: int
    outbox: int
    audit_log: int


async def _delete_oldest(
    conn: AsyncConnection, table: sa.Table, age: Any, cutoff: float, limit: int, *also: Any
) -> int:
    ids = (
        sa.select(table.c.id)
        .where(age < cutoff, *also)
        .order_by(age)
        .limit(limit)
        .scalar_subquery()
    )
    res = await conn.execute(sa.delete(table).where(table.c.id.in_(ids)))
    return int(res.rowcount or 0)


async def prune_logs(
    conn: AsyncConnection, now: float, retention: Retention, limit: int = BATCH
) -> LogPruneReport:
    told = now - retention.notification_log
    o = notify_outbox.c
    done = o.status != _PENDING
    return LogPruneReport(
        notification_log=await _delete_oldest(conn, notify_log, notify_log.c.at, told, limit),
        outbox=await _delete_oldest(conn, notify_outbox, o.created, told, limit, done),
        audit_log=await _delete_oldest(
            conn, audit_log, audit_log.c.at, now - retention.audit_log, limit
        ),
    )
