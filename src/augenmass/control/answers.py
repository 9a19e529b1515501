"""What the server answers the faces: small frozen records and typed dicts, no live objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from augenmass.core.values import CheckResult

# (bucket start or sample time, avg, min, max)
Point = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the store knows it; the password hash travels only with `Login`."""

    id: int
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class Login:
    account: Account
    password_hash: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id_hash: str
    account: Account
    csrf_token: str
    created: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    user_name: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True, slots=True)
class ResultAnswer:
    """What became of a submitted result. Not `applied` (e.g. older than the check's current
    state): it is stored for history and graphs all the same, and `reason` says why."""

    applied: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """Performance data of one label; `resolution` is what `auto` stands for in the window."""

    resolution: str  # raw | 5m | 1h
    points: list[Point]


class CheckNotification(TypedDict):
    """One notification of one check, from the outbox."""

    at: float
    contact: str
    channel: str
    type: str
    host: str
    service: str
    state: int
    status: str
    sent_at: float | None


class Delivery(TypedDict):
    """One delivery attempt, from the notification log (contact names, never addresses)."""

    at: float
    contact: str
    channel: str
    type: str
    checks: str
    notifications: int
    result: str


class SchedulerHealth(TypedDict):
    checks_started: int
    checks_completed: int
    in_flight: int
    queued: int
    lateness_p50: float
    lateness_p99: float
    lateness_max: float


class WorkerHealth(TypedDict):
    configured: int
    alive: int
    started: int


class StoreHealth(TypedDict):
    pending: int
    failures: int
    degraded: bool
    degraded_reason: str | None
    failing_for: float | None  # seconds the store has been failing (None: it works)
    waiting: dict[str, int]  # not written yet, by kind (while it fails)
    dropped_results: int  # shed since the start because too much waited
    dropped_events: int
    reserve: str  # held | given up | none
    # perfdata values of new labels dropped by settings.max_series_per_check since the start
    perfdata_dropped: int


class NotifyHealth(TypedDict):
    pending: int  # outbox rows not yet sent
    sent: int  # since the start
    failed: int  # failed for good (counted from the store at start, then as they fail)
    retries: int  # deliveries tried again since the start


class ZoneHealth(TypedDict):
    """One cluster zone: its live workers (and how busy) and its jobs since the start."""

    zone: str
    workers: int  # alive now (a heartbeat within 6 s)
    running: int  # jobs its workers run now
    slots: int  # jobs they could run at once
    load1: float  # the highest 1-minute load average of their machines
    waiting: int  # jobs in NATS no worker took yet
    at_workers: int  # jobs handed out, not yet answered
    sent: int
    results: int
    redelivered: int  # answered after being handed out again (a worker died or stopped)
    expired: int  # taken after their deadline: not run
    unanswered: int  # no answer in the job's window: not run this time
    ran_here: int  # no live worker (or NATS away): the server ran the check itself
    unconfirmed: int  # published without NATS's confirmation in time (overload): waited for


class ClusterHealth(TypedDict):
    connected: bool  # to NATS
    duplicates: int  # second answers to one job, ignored
    refused: int  # malformed answers, answers for another zone's job
    zones: list[ZoneHealth]


class HaHealth(TypedDict):
    """Active/standby on a shared PostgreSQL store; `single`: one box (SQLite, no lease)."""

    role: str  # single | active | standby
    node: str  # this server's name (`augenmass run --node`)
    active_node: str | None  # who acts now (None: nobody holds a valid lease)
    token: int | None  # the lease's fencing token (counts takeovers)
    active_since: float | None  # epoch seconds of the active server's takeover


class Health(TypedDict):
    status: str  # ok | degraded
    version: str
    hosts: int
    services: int
    scheduler: SchedulerHealth
    probe_workers: WorkerHealth
    store: StoreHealth
    notifications: NotifyHealth
    cluster: NotRequired[ClusterHealth]  # only with cluster.nats (workers)
    ha: NotRequired[HaHealth]  # who acts: single (SQLite), active or standby


# --- agents ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentChecks:
    """What one agent runs: its checks as JSON-ready mappings, and `version`, a digest that
    changes exactly when they (or the agent's settings) change (the agent's ETag)."""

    agent: str
    version: str
    checks: list[dict[str, Any]]
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentBatch:
    """Results an agent sends at once: `(seq, result)` pairs, seq counting up within the
    buffer `epoch`; `sent_at` is the agent's clock when it sent them (for the skew)."""

    epoch: str
    sent_at: float
    dropped: int
    buffered: int
    results: list[tuple[int, CheckResult]]
    config_version: str = ""


@dataclass(frozen=True, slots=True)
class AgentReceipt:
    """`accepted` new results (`late` of them older than the state: history only), `duplicates`
    already taken before; everything up to `last_seq` is safe on the server."""

    accepted: int
    late: int
    duplicates: int
    last_seq: int
    skew: float


class AgentStatus(TypedDict):
    name: str
    hosts: int
    checks: int
    connected: bool
    last_seen: float | None  # server time of the last batch or heartbeat
    skew: float | None  # agent clock minus server clock, seconds, at the last batch
    dropped: int  # results its buffer had to drop (reported by the agent)
    buffered: int  # results waiting in its buffer at the last batch
    config_version: str | None  # the version it runs (from its last fetch)
