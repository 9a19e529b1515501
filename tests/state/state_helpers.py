"""Small builders for engine tests: Plans in Python, a runner that ticks like simulate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from augenmass.core.plan import (
    HOST_NOTIFY_ON,
    CheckSpec,
    Contact,
    HostPlan,
    Plan,
    Policy,
    ServicePlan,
    TimePeriodLike,
)
from augenmass.core.values import CheckKey, CheckResult, Event, StateType
from augenmass.state import Engine, Outcome

T0 = 1_772_359_200.0  # 2026-03-01T10:00:00Z
DAY = 86_400.0
PLUGIN = CheckSpec(type="plugin", command=("check_dummy", "0"))

WWW = CheckKey("www")
HTTPS = CheckKey("www", "https")


def minutes(m: float) -> float:
    return T0 + m * 60.0


def policy(**kw: object) -> Policy:
    """A service policy with the scenario defaults (docs/semantics.md §16): M=3, reminders far
    away, group 'admins'."""
    base: dict[str, object] = {
        "max_check_attempts": 3,
        "check_interval": 60.0,
        "retry_interval": 60.0,
        "notification_interval": DAY,
        "contact_groups": ("admins",),
    }
    base.update(kw)
    return Policy(**base)  # type: ignore[arg-type]


def host_policy(**kw: object) -> Policy:
    return policy(notify_on=HOST_NOTIFY_ON, **kw)


@dataclass
class Window:
    """A fake timeperiod: open inside the given [start, end) epoch ranges."""

    name: str
    ranges: list[tuple[float, float]]

    def contains(self, ts: float) -> bool:
        return any(a <= ts < b for a, b in self.ranges)

    def next_inside(self, ts: float) -> float | None:
        if self.contains(ts):
            return ts
        later = [a for a, _ in self.ranges if a >= ts]
        return min(later) if later else None


def build_plan(
    *,
    svc: Policy | None = None,
    host: Policy | None = None,
    hosts: Mapping[str, tuple[str, ...]] | None = None,
    services: Iterable[tuple[str, str]] = (("www", "https"),),
    host_check: bool = True,
    contacts: Iterable[Contact] = (Contact("alice"), Contact("bob")),
    groups: Mapping[str, tuple[str, ...]] | None = None,
    timeperiods: Iterable[TimePeriodLike] = (),
) -> Plan:
    """hosts maps name → parents (default: one host 'www')."""
    host_pol = host or host_policy()
    host_map = hosts if hosts is not None else {"www": ()}
    spec = PLUGIN if host_check else None
    return Plan(
        hosts={n: HostPlan(n, parents=p, check=spec, policy=host_pol) for n, p in host_map.items()},
        services={
            CheckKey(h, s): ServicePlan(h, s, PLUGIN, policy=svc or policy()) for h, s in services
        },
        contacts={c.name: c for c in contacts},
        contact_groups=groups if groups is not None else {"admins": ("alice", "bob")},
        timeperiods={t.name: t for t in timeperiods},
    )


@dataclass
class Run:
    """Drives an Engine through time the way simulate does (ticks at every due moment)."""

    plan: Plan
    engine: Engine = field(init=False)
    now: float = T0
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = Engine(self.plan)

    def advance(self, to: float) -> None:
        for _ in range(10_000):
            due = self.engine.next_due(self.now)
            if due is None or due >= to:
                break
            self.now = due
            self._keep(self.engine.tick(due))
        self.now = to
        self._keep(self.engine.tick(to))

    def result(
        self, key: CheckKey, status: int, minute: float, *, passive: bool = False, output: str = ""
    ) -> Outcome:
        at = minutes(minute)
        self.advance(at)
        res = CheckResult(key, status, output or f"status {status}", started_at=at, passive=passive)
        return self._keep(self.engine.ingest(res, at))

    def results(
        self, key: CheckKey, statuses: Iterable[int], start: float = 0, step: float = 1
    ) -> None:
        for i, status in enumerate(statuses):
            self.result(key, status, start + i * step)

    def _keep(self, out: Outcome) -> Outcome:
        self.events.extend(out.events)
        return out

    def notes(self, key: CheckKey | None = None) -> list[Event]:
        return [
            e for e in self.events if e.kind == "notification" and (key is None or e.key == key)
        ]

    def note_types(self, key: CheckKey | None = None) -> list[str]:
        return [e.data["type"] for e in self.notes(key)]

    def kinds(self, key: CheckKey | None = None) -> list[str]:
        return [e.kind for e in self.events if key is None or e.key == key]

    def state(self, key: CheckKey = HTTPS) -> tuple[int, StateType, int]:
        s = self.engine.state(key)
        return s.state, s.state_type, s.attempt
