"""The server side of `augenmass.control`: what the API and web UI may read and ask for.

Wraps the running `Server` (plan, engine states, scheduler, writer) and the store's query
functions; the faces get this object and nothing else of the server.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from augenmass import __version__
from augenmass.cluster.figures import ClusterFigures
from augenmass.control import (
    Account,
    ActionError,
    AgentBatch,
    AgentChecks,
    AgentReceipt,
    AgentStatus,
    AuditEntry,
    CheckNotification,
    Delivery,
    HaHealth,
    Health,
    Login,
    NotifyHealth,
    ResultAnswer,
    Series,
    SessionInfo,
    TokenInfo,
)
from augenmass.control.answers import ClusterHealth, ZoneHealth
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
from augenmass.server import forwarded
from augenmass.state import Engine, Outcome
from augenmass.store import Store, WriteBatch, audit, perf, reads
from augenmass.store import accounts as stored

if TYPE_CHECKING:
    from augenmass.server.server import Server

COMMIT_TIMEOUT = 30.0


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _account(row: stored.UserRow) -> Account:
    return Account(row.id, row.name, row.role)


def _token(row: stored.TokenRow) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.scopes)


class StoreAccounts:
    """Users, tokens and sessions in a store: for the running server and, with no server
    running, for `augenmass user|token`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add_user(self, name: str, password_hash: str, role: str) -> Account | None:
        uid = await stored.insert_user(self._store, name, password_hash, role, self._clock.now())
        return None if uid is None else Account(uid, name, role)

    async def login_of(self, name: str) -> Login | None:
        row = await stored.user_by_name(self._store, name)
        return None if row is None else Login(_account(row), row.password_hash)

    async def users(self) -> list[Account]:
        return [_account(r) for r in await stored.all_users(self._store)]

    async def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        role: str | None = None,
        keep_session: str | None = None,
    ) -> bool:
        values = {"password_hash": password_hash, "role": role}
        changed = {k: v for k, v in values.items() if v is not None}
        return await stored.update_user(self._store, name, changed, keep_session)

    async def delete_user(self, name: str) -> bool:
        return await stored.delete_user(self._store, name)

    async def add_token(self, name: str, token_hash: str, scopes: frozenset[str]) -> bool:
        return await stored.insert_token(self._store, name, token_hash, scopes, self._clock.now())

    async def delete_token(self, name: str) -> bool:
        return await stored.delete_token(self._store, name)

    async def tokens(self) -> list[TokenInfo]:
        return [_token(r) for r in await stored.all_tokens(self._store)]

    async def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        row = await stored.token_by_hash(self._store, token_hash)
        return None if row is None else _token(row)

    async def start_session(
        self,
        session: SessionInfo,
        *,
        idle_before: float,
        created_before: float,
        max_per_user: int = 0,
    ) -> None:
        await stored.insert_session(
            self._store,
            session.id_hash,
            session.account.id,
            session.csrf_token,
            session.created,
            idle_before=idle_before,
            created_before=created_before,
            max_per_user=max_per_user,
        )

    async def session(self, id_hash: str) -> SessionInfo | None:
        row = await stored.session_by_hash(self._store, id_hash)
        if row is None:
            return None
        account = Account(row.user_id, row.user_name, row.role)
        return SessionInfo(row.id_hash, account, row.csrf_token, row.created, row.last_seen)

    async def touch_session(self, id_hash: str, now: float) -> None:
        await stored.touch_session(self._store, id_hash, now)

    async def end_session(self, id_hash: str) -> None:
        await stored.delete_session(self._store, id_hash)

    async def end_user_sessions(self, user_id: int) -> None:
        await stored.delete_user_sessions(self._store, user_id)


def _refused(outcome: Outcome) -> None:
    if outcome.reason is not None:
        raise ActionError(409, outcome.reason)


def _scheduler(dt: Downtime) -> Callable[[Engine, float], Outcome]:
    return lambda eng, t: eng.schedule_downtime(dt, t)


def _remover(dt_id: str) -> Callable[[Engine, float], Outcome]:
    return lambda eng, t: eng.remove_downtime(dt_id, t)


class Control:
    """`augenmass.control.ServerControl` over a started `Server`."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._accounts = StoreAccounts(server.store, server.clock)
        self._pending: set[asyncio.Task[bool]] = set()  # check-now requests being passed on

    # --- reads ------------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self._server.clock

    @property
    def plan(self) -> Plan:
        return self._server.plan

    @property
    def states(self) -> Mapping[CheckKey, CheckState]:
        return self._server.engine.states

    @property
    def downtimes(self) -> Mapping[str, Downtime]:
        return self._server.engine.downtimes

    @property
    def accounts(self) -> StoreAccounts:
        return self._accounts

    def option_defaults(self, check_type: str) -> Mapping[str, Any]:
        return option_defaults(check_type)

    def next_check(self, key: CheckKey) -> float | None:
        return self._server.scheduler.next_check(key)

    def check_durations(self) -> Mapping[CheckKey, float]:
        return self._server.durations

    def health(self) -> Health:
        health = self._health()
        if self._server.cluster is not None:
            health["cluster"] = cluster_health(self._server.cluster.figures())
        return health

    def _health(self) -> Health:
        server = self._server
        stats = server.scheduler.stats
        wstats = server.writer.stats
        return {
            "status": "degraded" if (wstats.degraded or server.store.degraded_reason) else "ok",
            "version": __version__,
            "hosts": len(server.plan.hosts),
            "services": len(server.plan.services),
            "scheduler": {
                "checks_started": stats.checks_started,
                "checks_completed": stats.checks_completed,
                "in_flight": stats.in_flight,
                "queued": stats.queued,
                "lateness_p50": stats.lateness_p50,
                "lateness_p99": stats.lateness_p99,
                "lateness_max": stats.lateness_max,
            },
            "probe_workers": {
                "configured": server.workers.count,
                "alive": server.workers.alive,
                "started": server.workers.started,
            },
            "notifications": _notify_health(server),
            "store": {
                "pending": wstats.pending,
                "failures": wstats.failures,
                "degraded": bool(wstats.degraded),
                "degraded_reason": (
                    f"writes fail: {wstats.last_error}"
                    if wstats.degraded
                    else server.store.degraded_reason
                ),
                "failing_for": (
                    None
                    if wstats.failing_since is None
                    else round(server.clock.monotonic() - wstats.failing_since, 1)
                ),
                "waiting": wstats.waiting or {},
                "dropped_results": wstats.dropped_results,
                "dropped_events": wstats.dropped_events,
                "reserve": _reserve_state(server),
                "perfdata_dropped": server.store.series_dropped,
            },
            "ha": cast(HaHealth, server.role.health()),
        }

    async def history(
        self, key: CheckKey | None, since: float, until: float, limit: int
    ) -> list[Event]:
        return await self._server.store.history(key, since, until, limit)

    async def events(
        self,
        keys: Sequence[CheckKey],
        kinds: Sequence[str],
        since: float,
        until: float,
        limit: int = 5000,
    ) -> list[Event]:
        return await reads.events(self._server.store, keys, kinds, since, until, limit)

    async def recent_events(
        self, key: CheckKey, kinds: Sequence[str], limit: int = 50
    ) -> list[Event]:
        return await reads.recent_events(self._server.store, key, kinds, limit)

    async def hard_states_before(self, keys: Sequence[CheckKey], ts: float) -> dict[CheckKey, int]:
        return await reads.hard_state_before(self._server.store, keys, ts)

    async def series(
        self, key: CheckKey, label: str, since: float, until: float, resolution: str = "auto"
    ) -> Series:
        now = self.clock.now()
        points = await self._server.store.series_points(
            key, label, since, until, resolution, now=now
        )
        if resolution == "auto":
            # named from the config's retention, as the graphs label it
            retention = self._server.plan.settings.retention
            resolution = perf.choose_resolution(since, until, now, retention)
        return Series(resolution, points)

    async def notification_log(
        self,
        since: float,
        until: float,
        host: str | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[CheckNotification] | list[Delivery]:
        rows = await reads.notification_log(self._server.store, since, until, host, service, limit)
        if host is not None:
            return cast(list[CheckNotification], rows)
        return cast(list[Delivery], rows)

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        rows = await audit.entries(self._server.store, limit)
        return [AuditEntry(r.at, r.user_name, r.action, r.target, r.detail) for r in rows]

    async def record_audit(
        self, user_name: str, action: str, target: str, detail: str = ""
    ) -> None:
        await audit.record(self._server.store, self.clock.now(), user_name, action, target, detail)

    # --- actions ----------------------------------------------------------------------------
    async def _commit(self) -> None:
        """Wait until everything submitted so far is durable (an empty urgent batch forces it)."""
        writer = self._server.writer
        writer.submit(WriteBatch(), urgent=True)
        try:
            await asyncio.wait_for(writer.flush(), COMMIT_TIMEOUT)
        except TimeoutError as exc:
            raise ActionError(
                503, "the store is slow; the action is applied but not yet saved"
            ) from exc

    # On a standby server an action is passed to the active one through the store
    # (server/role.py); the answer comes once the active one applied it, or says it waits.
    def _standby(self) -> bool:
        return self._server.role.standby

    async def _forward(self, command: dict[str, object]) -> None:
        if not await self._server.forward(command):
            raise ActionError(
                503,
                "this server is standby and no active server applied the action yet;"
                " it is stored and applied once one is active",
            )

    def _refuse_on_standby(self) -> None:
        if self._standby():
            active = self._server.role.active_node or "none right now"
            raise ActionError(
                503, f"this server is standby; send results to the active server ({active})"
            )

    async def acknowledge(self, key: CheckKey, ack: Acknowledgement) -> None:
        if self._standby():
            await self._forward(forwarded.acknowledge(key, ack))
            return
        _refused(await self._server.apply(lambda eng, t: eng.acknowledge(key, ack, t)))
        await self._commit()

    async def remove_acknowledgement(self, key: CheckKey) -> None:
        if self._standby():
            await self._forward(forwarded.key_action("remove_acknowledgement", key))
            return
        _refused(await self._server.apply(lambda eng, t: eng.remove_acknowledgement(key, t)))
        await self._commit()

    async def schedule_downtimes(self, downtimes: Sequence[Downtime]) -> None:
        if self._standby():
            for dt in downtimes:
                await self._forward(forwarded.downtime(dt))
            return
        for dt in downtimes:
            try:
                _refused(await self._server.apply(_scheduler(dt)))
            except ValueError as exc:
                raise ActionError(422, str(exc)) from exc
        await self._commit()

    async def remove_downtimes(self, ids: Sequence[str]) -> None:
        if self._standby():
            for one in ids:
                await self._forward({"action": "remove_downtime", "id": one})
            return
        for one in ids:
            if one in self._server.engine.downtimes:
                await self._server.apply(_remover(one))
        await self._commit()

    def check_now(self, key: CheckKey) -> bool:
        if self._standby():
            task = asyncio.create_task(self._server.forward(forwarded.key_action("check_now", key)))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return True
        return self._server.scheduler.check_now(key)

    async def submit_result(self, result: CheckResult) -> ResultAnswer:
        self._refuse_on_standby()
        outcome, _ = await self._server.ingest_outcome(result)
        if outcome.reason is None:
            return ResultAnswer(applied=True)
        # Server.ingest stores every result (its ring slot and perfdata points) either way.
        why = outcome.reason
        st = self._server.engine.states.get(result.key)
        if why.startswith("out_of_order") and st is not None:
            why = (
                f"older than the current state (this one started {_utc(result.started_at)},"
                f" the last applied one {_utc(st.last_check)})"
            )
        return ResultAnswer(applied=False, reason=f"{why}; stored for history only")

    async def reload(self) -> bool:
        return await self._server.reload()

    # --- agents -----------------------------------------------------------------------------
    def agent_checks(self, agent: str) -> AgentChecks:
        return self._server.agents.checks(agent)

    async def agent_results(self, agent: str, batch: AgentBatch) -> AgentReceipt:
        self._refuse_on_standby()
        try:
            return await self._server.agents.receive(agent, batch)
        except TimeoutError as exc:
            raise ActionError(503, "the store is slow; send the batch again later") from exc

    def agent_status(self) -> list[AgentStatus]:
        return self._server.agents.status()


def _reserve_state(server: Server) -> str:
    reserve = server.reserve
    if reserve is None or not reserve.size:
        return "none"
    return "held" if reserve.held else "given up"


def _notify_health(server: Server) -> NotifyHealth:
    stats = server.notifications.stats
    return {
        "pending": stats.pending,
        "sent": stats.sent,
        "failed": stats.failed,
        "retries": stats.retries,
    }


@functools.lru_cache(maxsize=64)
def option_defaults(check_type: str) -> Mapping[str, Any]:
    from augenmass.config.checks import check_model

    model = check_model(check_type)
    if isinstance(model, str):
        return {}
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            continue
        try:
            out[name] = field.get_default(call_default_factory=True)
        except Exception:  # a default that cannot be made here is simply shown
            continue
    return out


def cluster_health(figures: ClusterFigures) -> ClusterHealth:
    """The workers' figures as the faces show them (no NATS URL: it may name a user)."""
    zones = [cast(ZoneHealth, dict(vars(z))) for z in figures.zones]
    return {
        "connected": figures.connected,
        "duplicates": figures.duplicates,
        "refused": figures.refused,
        "zones": zones,
    }
