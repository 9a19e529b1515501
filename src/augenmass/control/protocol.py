"""The one door between the faces (API, web UI) and the running server.

The faces read the plan, the current states and downtimes (in memory), history and figures
(from the store), and ask for operator actions. They never see the engine, the store's tables
or the scheduler; the server side (`augenmass.server.control`) implements this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from augenmass.control.answers import (
    Account,
    AgentBatch,
    AgentChecks,
    AgentReceipt,
    AgentStatus,
    AuditEntry,
    CheckNotification,
    Delivery,
    Health,
    Login,
    ResultAnswer,
    Series,
    SessionInfo,
    TokenInfo,
)
from augenmass.core.clock import Clock
from augenmass.core.plan import Plan
from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    Downtime,
    Event,
)


class AccountStore(Protocol):
    """Users, API tokens and sessions as stored: only hashes and digests pass through here;
    hashing, name rules and timeouts belong to the caller (`augenmass.api.accounts`)."""

    async def add_user(self, name: str, password_hash: str, role: str) -> Account | None:
        """The new account; None when the name is taken."""
        ...

    async def login_of(self, name: str) -> Login | None: ...

    async def users(self) -> list[Account]: ...

    async def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        role: str | None = None,
        keep_session: str | None = None,
    ) -> bool:
        """Change a user; their sessions end except `keep_session` (an id hash). False: no
        such user."""
        ...

    async def delete_user(self, name: str) -> bool: ...

    async def add_token(self, name: str, token_hash: str, scopes: frozenset[str]) -> bool:
        """False when the name is taken."""
        ...

    async def delete_token(self, name: str) -> bool: ...

    async def tokens(self) -> list[TokenInfo]: ...

    async def token_by_hash(self, token_hash: str) -> TokenInfo | None: ...

    async def start_session(
        self,
        session: SessionInfo,
        *,
        idle_before: float,
        created_before: float,
        max_per_user: int = 0,
    ) -> None:
        """Store a new session and drop those idle or created before the given times, and the
        user's oldest beyond `max_per_user` (0: no cap)."""
        ...

    async def session(self, id_hash: str) -> SessionInfo | None: ...

    async def touch_session(self, id_hash: str, now: float) -> None: ...

    async def end_session(self, id_hash: str) -> None: ...

    async def end_user_sessions(self, user_id: int) -> None: ...


class ServerControl(Protocol):
    # --- what the faces read ----------------------------------------------------------------
    @property
    def clock(self) -> Clock: ...

    @property
    def plan(self) -> Plan:
        """The running config (names, groups, tags, policies, settings)."""
        ...

    @property
    def states(self) -> Mapping[CheckKey, CheckState]:
        """Current state of every checked host and service (in memory; read, never change)."""
        ...

    @property
    def downtimes(self) -> Mapping[str, Downtime]: ...

    @property
    def accounts(self) -> AccountStore: ...

    def health(self) -> Health: ...

    def option_defaults(self, check_type: str) -> Mapping[str, Any]:
        """The defaults of a check type's options (empty for an unknown type or a plugin)."""
        ...

    def next_check(self, key: CheckKey) -> float | None:
        """When the scheduler runs `key` next (wall clock), None when it is not scheduled."""
        ...

    def check_durations(self) -> Mapping[CheckKey, float]:
        """How long each check's last run took (seconds), since the start (not stored)."""
        ...

    async def history(
        self, key: CheckKey | None, since: float, until: float, limit: int
    ) -> list[Event]:
        """Events with since <= at < until, newest first."""
        ...

    async def events(
        self,
        keys: Sequence[CheckKey],
        kinds: Sequence[str],
        since: float,
        until: float,
        limit: int = 5000,
    ) -> list[Event]:
        """Events of these kinds for these keys, since <= at < until, oldest first."""
        ...

    async def recent_events(
        self, key: CheckKey, kinds: Sequence[str], limit: int = 50
    ) -> list[Event]:
        """The newest events of these kinds for one key, newest first."""
        ...

    async def hard_states_before(
        self, keys: Sequence[CheckKey], ts: float
    ) -> dict[CheckKey, int]: ...

    async def series(
        self, key: CheckKey, label: str, since: float, until: float, resolution: str = "auto"
    ) -> Series: ...

    async def notification_log(
        self,
        since: float,
        until: float,
        host: str | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[CheckNotification] | list[Delivery]:
        """Per check (from the outbox) when a host is given, else the delivery log."""
        ...

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]: ...

    async def record_audit(
        self, user_name: str, action: str, target: str, detail: str = ""
    ) -> None: ...

    # --- what the faces ask for -------------------------------------------------------------
    # Each change is durable when the call returns; ActionError(409) when there was nothing to
    # do, ActionError(503) when the store is too slow to confirm it (it is applied all the same).
    async def acknowledge(self, key: CheckKey, ack: Acknowledgement) -> None: ...

    async def remove_acknowledgement(self, key: CheckKey) -> None: ...

    async def schedule_downtimes(self, downtimes: Sequence[Downtime]) -> None:
        """All or, on the first refusal (409) or impossible one (422), the ones before it."""
        ...

    async def remove_downtimes(self, ids: Sequence[str]) -> None:
        """Remove those still there (removing one may take others along)."""
        ...

    def check_now(self, key: CheckKey) -> bool:
        """Make the check due now; False when it is running already."""
        ...

    async def submit_result(self, result: CheckResult) -> ResultAnswer:
        """Feed a (passive) result to the engine; it is stored even when it does not change
        the state (then `applied` is False with the reason). Time bounds are the caller's."""
        ...

    async def reload(self) -> bool:
        """Re-read the config; False (and the old one keeps running) when it has errors."""
        ...

    # --- agents (`augenmass agent`) ---------------------------------------------------------
    def agent_checks(self, agent: str) -> AgentChecks:
        """The checks `agent` runs (KeyError for an agent not in the plan)."""
        ...

    async def agent_results(self, agent: str, batch: AgentBatch) -> AgentReceipt:
        """Take a batch (keys and time bounds checked by the caller): new results in the order
        they were measured, each (epoch, seq) once; durable when this returns. Every batch is
        also the agent's heartbeat."""
        ...

    def agent_status(self) -> list[AgentStatus]: ...
