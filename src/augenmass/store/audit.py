"""The operator audit log: who did what to which object, and when. Never from where."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from augenmass.store.auth_schema import audit_log
from augenmass.store.store import Store

MAX_FIELD = 2000


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: float
    user_name: str
    action: str
    target: str
    detail: str


async def record(
    store: Store, at: float, user_name: str, action: str, target: str, detail: str = ""
) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.insert(audit_log).values(
                at=at,
                user_name=user_name[:MAX_FIELD],
                action=action[:MAX_FIELD],
                target=target[:MAX_FIELD],
                detail=detail[:MAX_FIELD],
            )
        )


async def entries(store: Store, limit: int = 100) -> list[AuditRow]:
    """The newest `limit` entries, newest first."""
    a = audit_log.c
    q = sa.select(a.at, a.user_name, a.action, a.target, a.detail)
    q = q.order_by(a.at.desc(), a.id.desc()).limit(limit)
    async with store.engine.connect() as conn:
        return [AuditRow(*row) for row in await conn.execute(q)]
