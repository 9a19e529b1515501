"""The operator audit log: who did what to which object, and when. Never from where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from augenmass.store.auth_schema import audit_log

if TYPE_CHECKING:
    from augenmass.server.server import Server

_MAX_FIELD = 2000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    user_name: str
    action: str
    target: str
    detail: str


async def record(
    server: Server, user_name: str, action: str, target: str, detail: str = ""
) -> None:
    async with server.store.engine.begin() as conn:
        await conn.execute(
            sa.insert(audit_log).values(
                at=server.clock.now(),
                user_name=user_name[:_MAX_FIELD],
                action=action[:_MAX_FIELD],
                target=target[:_MAX_FIELD],
                detail=detail[:_MAX_FIELD],
            )
        )


async def entries(server: Server, limit: int = 100) -> list[AuditEntry]:
    a = audit_log.c
    q = sa.select(a.at, a.user_name, a.action, a.target, a.detail)
    q = q.order_by(a.at.desc(), a.id.desc()).limit(limit)
    async with server.store.engine.connect() as conn:
        return [AuditEntry(*row) for row in await conn.execute(q)]
