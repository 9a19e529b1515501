"""Small builders for test values."""

from __future__ import annotations

from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    Downtime,
    Event,
    PerfDatum,
    StateType,
)

WEB = CheckKey("web1", "http")
HOST = CheckKey("web1")


def state(key: CheckKey = WEB, st: int = 2, **kw: object) -> CheckState:
    return CheckState(key=key, state=st, checked=True, last_check=1000.0, **kw)  # type: ignore[arg-type]


def ack(at: float = 1000.0) -> Acknowledgement:
    return Acknowledgement(author="ops", comment="on it", at=at, sticky=True)


def downtime(i: str = "dt-1", key: CheckKey = WEB) -> Downtime:
    return Downtime(id=i, key=key, start=1000.0, end=4600.0, author="ops", comment="patching")


def event(at: float, key: CheckKey = WEB, kind: str = "state", st: int = 2) -> Event:
    return Event(at, kind, key, st, StateType.HARD, 3, f"state {st} at {at}", {"n": at})


def result(
    at: float, key: CheckKey = WEB, value: float | None = 1.0, label: str = "time"
) -> CheckResult:
    perf = (PerfDatum(label, value, "s"),) if value is not None or label else ()
    return CheckResult(key=key, status=0, output=f"ok at {at}", perfdata=perf, started_at=at)
