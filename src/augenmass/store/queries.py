"""Read queries the API needs beyond the Store's own (notification log)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from augenmass.store.schema import metadata


async def notification_log(
    eng: AsyncEngine,
    since: float,
    until: float,
    host: str | None = None,
    service: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Notifications newest first: per check from the outbox when a check is given, else the
    delivery log. Empty while the notifications tables do not exist (older versions)."""
    q: Any  # two shapes of SELECT; only executed here
    if host is not None:
        table = metadata.tables.get("notify_outbox")
        if table is None:
            return []
        c = table.c
        q = sa.select(
            c.at, c.contact, c.channel, c.type, c.host, c.service, c.state, c.status, c.sent_at
        ).where(c.host == host, c.service == (service or ""), c.at >= since, c.at < until)
        q = q.order_by(c.at.desc(), c.id.desc()).limit(limit)
    else:
        table = metadata.tables.get("notify_log")
        if table is None:
            return []
        c = table.c
        q = sa.select(c.at, c.contact, c.channel, c.type, c.checks, c.notifications, c.result)
        q = q.where(c.at >= since, c.at < until).order_by(c.at.desc(), c.id.desc()).limit(limit)
    async with eng.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(q)]
