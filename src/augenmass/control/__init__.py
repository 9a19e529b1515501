"""The interface the faces (API, web UI) use to read and steer the running server."""

from __future__ import annotations

from augenmass.control.answers import (
    Account,
    AgentBatch,
    AgentChecks,
    AgentReceipt,
    AgentStatus,
    AuditEntry,
    CheckNotification,
    ClusterHealth,
    Delivery,
    HaHealth,
    Health,
    Login,
    NotifyHealth,
    Point,
    ResultAnswer,
    Series,
    SessionInfo,
    StoreHealth,
    TokenInfo,
)
from augenmass.control.errors import ActionError
from augenmass.control.protocol import AccountStore, ServerControl

__all__ = [
    "Account",
    "AccountStore",
    "AgentBatch",
    "AgentChecks",
    "AgentReceipt",
    "AgentStatus",
    "ActionError",
    "AuditEntry",
    "CheckNotification",
    "Delivery",
    "Health",
    "NotifyHealth",
    "ClusterHealth",
    "HaHealth",
    "StoreHealth",
    "Login",
    "Point",
    "ResultAnswer",
    "Series",
    "ServerControl",
    "SessionInfo",
    "TokenInfo",
]
