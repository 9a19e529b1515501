"""The operator audit log: who did what to which object, and when. Never from where."""

from __future__ import annotations

from typing import TYPE_CHECKING

from augenmass.control import AuditEntry

if TYPE_CHECKING:
    from augenmass.control import ServerControl

__all__ = ["AuditEntry", "entries", "record"]


async def record(
    control: ServerControl, user_name: str, action: str, target: str, detail: str = ""
) -> None:
    await control.record_audit(user_name, action, target, detail)


async def entries(control: ServerControl, limit: int = 100) -> list[AuditEntry]:
    """The newest entries first."""
    return await control.audit_log(limit)
