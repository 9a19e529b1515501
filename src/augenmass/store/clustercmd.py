"""Operator actions a standby server received, for the active one to apply (PostgreSQL).

The standby writes the action in the command spool's JSON format; the active server applies
it through its engine, waits for the commit and only then deletes the row (with its fencing
token): a takeover in between applies it again, which is harmless (ids make downtimes
idempotent, an acknowledgement set twice is the same one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augenmass.store.aio import AsyncEngine
from augenmass.store.cluster_schema import cluster_command

if TYPE_CHECKING:
    from augenmass.store.store import Store

TAKE_LIMIT = 100  # rows applied per pass (once a second)


async def put(engine: AsyncEngine, origin: str, command: Mapping[str, Any], now: float) -> int:
    row = {"created": now, "origin": origin, "command": json.dumps(dict(command))}
    async with engine.begin() as conn:
        result = await conn.execute(
            sa.insert(cluster_command).values(row).returning(cluster_command.c.id)
        )
        return int(result.scalar_one())


async def waiting(engine: AsyncEngine, cid: int) -> bool:
    """True while the row is there (not applied yet)."""
    q = sa.select(cluster_command.c.id).where(cluster_command.c.id == cid)
    async with engine.connect() as conn:
        found = await conn.scalar(q)
        await conn.rollback()
    return found is not None


async def take(engine: AsyncEngine) -> list[tuple[int, dict[str, Any]]]:
    """The oldest rows, decoded (a row that is no JSON object comes as {} and is refused)."""
    c = cluster_command.c
    q = sa.select(c.id, c.command).order_by(c.id).limit(TAKE_LIMIT)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).all()
        await conn.rollback()
    out: list[tuple[int, dict[str, Any]]] = []
    for cid, text in rows:
        try:
            value = json.loads(text)
        except ValueError:
            value = {}
        out.append((int(cid), value if isinstance(value, dict) else {}))
    return out


async def done(store: Store, ids: list[int]) -> None:
    """Delete applied rows, only while this server is still the active one (fenced)."""
    async with store.engine.begin() as conn:
        await store.fence.check(conn)
        await conn.execute(sa.delete(cluster_command).where(cluster_command.c.id.in_(ids)))
