"""Read queries of the history and notification tables, for the API and the web UI.

History reads use narrow, indexed queries on the `event` table (ix_event_key_at); current
states are not read here: the running server keeps them in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from augenmass.core.values import CheckKey, Event, StateType
from augenmass.store import schema as t
from augenmass.store.codec import event_from, key_cols
from augenmass.store.notify_schema import notify_log, notify_outbox
from augenmass.store.outbox import count_by_status
from augenmass.store.store import Store

CHUNK = 400  # keys per IN (...) list: well under SQLite's parameter limit


def _key_filter(keys: Sequence[CheckKey]) -> Any:
    e = t.event.c
    return sa.or_(*[sa.and_(e.host == h, e.service == s) for h, s in map(key_cols, keys)])


def _where_keys(q: Any, keys: Sequence[CheckKey]) -> list[Any]:
    """The query per chunk of keys; with many keys one query over the time range instead (the
    caller filters), because hundreds of OR'ed key pairs make the database work harder."""
    if len(keys) > CHUNK:
        return [q]
    return [q.where(_key_filter(keys))] if keys else []


async def events(
    store: Store,
    keys: Sequence[CheckKey],
    kinds: Sequence[str],
    since: float,
    until: float,
    limit: int = 5000,
) -> list[Event]:
    """Events of these kinds for these keys, since <= at < until, oldest first."""
    e = t.event.c
    wanted = set(keys)
    base = (
        sa.select(t.event)
        .where(e.kind.in_(kinds), e.at >= since, e.at < until)
        .order_by(e.at.desc(), e.id.desc())
    )
    out: list[Event] = []
    async with store.engine.connect() as conn:
        for q in _where_keys(base, keys):
            for row in await conn.execute(q.limit(limit if len(keys) <= CHUNK else limit * 4)):
                ev = event_from(row)
                if ev.key in wanted:
                    out.append(ev)
    out.sort(key=lambda ev: ev.at)
    return out[-limit:]


async def recent_events(
    store: Store, key: CheckKey, kinds: Sequence[str], limit: int = 50
) -> list[Event]:
    """The newest `limit` events of these kinds for one key, newest first."""
    e = t.event.c
    host, service = key_cols(key)
    q = (
        sa.select(t.event)
        .where(e.host == host, e.service == service, e.kind.in_(kinds))
        .order_by(e.at.desc(), e.id.desc())
        .limit(limit)
    )
    async with store.engine.connect() as conn:
        return [event_from(row) for row in await conn.execute(q)]


async def hard_state_before(
    store: Store, keys: Sequence[CheckKey], ts: float
) -> dict[CheckKey, int]:
    """The HARD state each key was in at `ts`, from its last state event before then."""
    e = t.event.c
    hard = sa.and_(
        e.kind == "state", e.at < ts, sa.or_(e.state_type == StateType.HARD.value, e.state == 0)
    )
    latest = sa.select(e.host, e.service, sa.func.max(e.at).label("at")).where(hard)
    wanted = set(keys)
    found: dict[CheckKey, int] = {}
    async with store.engine.connect() as conn:
        for q in _where_keys(latest, keys):
            sub = q.group_by(e.host, e.service).subquery()
            rows = (
                sa.select(e.host, e.service, e.state, e.id)
                .join(
                    sub, sa.and_(e.host == sub.c.host, e.service == sub.c.service, e.at == sub.c.at)
                )
                .where(hard)
                .order_by(e.id)
            )
            for row in await conn.execute(rows):
                key = CheckKey(row.host, row.service or None)
                if key in wanted:
                    found[key] = row.state  # the newest id wins on equal times
    return found


async def notification_log(
    store: Store,
    since: float,
    until: float,
    host: str | None = None,
    service: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Notifications newest first: per check from the outbox when a check is given, else the
    delivery log."""
    q: Any  # two shapes of SELECT; only executed here
    if host is not None:
        c = notify_outbox.c
        q = sa.select(
            c.at, c.contact, c.channel, c.type, c.host, c.service, c.state, c.status, c.sent_at
        ).where(c.host == host, c.service == (service or ""), c.at >= since, c.at < until)
        q = q.order_by(c.at.desc(), c.id.desc()).limit(limit)
    else:
        g = notify_log.c
        q = sa.select(g.at, g.contact, g.channel, g.type, g.checks, g.notifications, g.result)
        q = q.where(g.at >= since, g.at < until).order_by(g.at.desc(), g.id.desc()).limit(limit)
    async with store.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(q)]


async def delivery_log(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The newest lines of the notification log, newest first, with the error detail (for the
    operator's shell; the API leaves the detail out)."""
    g = notify_log.c
    q = sa.select(g.at, g.contact, g.channel, g.type, g.checks, g.notifications, g.result, g.detail)
    async with store.engine.connect() as conn:
        rows = await conn.execute(q.order_by(g.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


async def outbox_counts(store: Store) -> dict[str, int]:
    """Outbox rows per status: pending, sent, failed (zero when there are none)."""
    return await count_by_status(store.engine)
