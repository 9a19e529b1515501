"""Availability from the state-change history: percent OK, outages, scheduled downtime left out.

Pure functions over events (no I/O): `queries.py` fetches the events, this module computes.
Only HARD states count: a SOFT problem is one the check has not confirmed yet (Nagios and Icinga
reports do the same by default). Time in scheduled downtime, of the object or of its host, is
neither OK nor a problem; time before the first known state is "no data" and is left out too,
so a service added last week is not 90 % down over a 90-day window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from augenmass.core.values import CheckKey, Event, StateType

STATE_KINDS = ("state",)
DOWNTIME_START = "downtime_start"
DOWNTIME_ENDS = ("downtime_end", "downtime_cancelled")
Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Outage:
    start: float
    end: float
    state: int  # the worst state seen during the outage

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Availability:
    key: CheckKey | None  # None for an aggregate (host with services, group)
    since: float
    until: float
    ok: float = 0.0  # seconds in OK/UP
    problem: float = 0.0  # seconds in a HARD problem state, outside downtime
    downtime: float = 0.0  # seconds in scheduled downtime (left out)
    no_data: float = 0.0  # seconds before the first known state (left out)
    outages: tuple[Outage, ...] = field(default_factory=tuple)

    @property
    def counted(self) -> float:
        return self.ok + self.problem

    @property
    def no_data_share(self) -> float:
        """Percent of the period without any known state (before the first check)."""
        span = self.until - self.since
        return 0.0 if span <= 0 else min(100.0, 100.0 * self.no_data / span)

    @property
    def percent(self) -> float | None:
        """Percent OK of the counted time; None when nothing was counted."""
        return None if self.counted <= 0 else 100.0 * self.ok / self.counted


def hard_changes(events: Iterable[Event]) -> list[tuple[float, int]]:
    """(time, state) at every HARD state change (and soft recovery, stored as HARD OK)."""
    out: list[tuple[float, int]] = []
    for ev in sorted(events, key=lambda e: e.at):
        if ev.kind not in STATE_KINDS:
            continue
        if ev.state_type is not StateType.HARD and ev.state != 0:
            continue
        if not out or out[-1][1] != ev.state:
            out.append((ev.at, ev.state))
    return out


def downtime_intervals(
    events: Iterable[Event], since: float, until: float, active: Iterable[Interval] = ()
) -> list[Interval]:
    """Merged [start, end) intervals of downtime in effect, clipped to [since, until).

    Pairs downtime_start with its end/cancel event by id; a start without an end lasts to
    `until` (it may still be running); `active` adds downtimes the engine knows are running.
    """
    open_: dict[str, float] = {}
    spans: list[Interval] = list(active)
    for ev in sorted(events, key=lambda e: e.at):
        dt_id = str(ev.data.get("downtime_id", ""))
        if ev.kind == DOWNTIME_START:
            open_.setdefault(dt_id, ev.at)
        elif ev.kind in DOWNTIME_ENDS and dt_id in open_:
            spans.append((open_.pop(dt_id), ev.at))
    spans += [(start, until) for start in open_.values()]
    return merge([(max(a, since), min(b, until)) for a, b in spans if b > since and a < until])


def merge(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(span: Interval, holes: Sequence[Interval]) -> list[Interval]:
    """Parts of `span` outside the (merged, sorted) `holes`."""
    a, b = span
    out: list[Interval] = []
    for ha, hb in holes:
        if hb <= a or ha >= b:
            continue
        if ha > a:
            out.append((a, ha))
        a = max(a, hb)
    if a < b:
        out.append((a, b))
    return out


def compute(
    key: CheckKey | None,
    since: float,
    until: float,
    initial: int | None,
    changes: Sequence[tuple[float, int]],
    downtimes: Sequence[Interval] = (),
) -> Availability:
    """Availability of one object over [since, until).

    `initial` is the HARD state in effect at `since` (None: unknown, counted as no data until
    the first change); `changes` are (time, state) in time order; `downtimes` merged intervals.
    """
    ok = problem = downtime = no_data = 0.0
    outages: list[Outage] = []
    segments = _segments(since, until, initial, changes)
    for (a, b), state in segments:
        if state is None:
            no_data += b - a
            continue
        outside = subtract((a, b), downtimes)
        counted = sum(y - x for x, y in outside)
        downtime += (b - a) - counted
        if state == 0:
            ok += counted
            continue
        problem += counted
        for x, y in outside:
            _add_outage(outages, Outage(x, y, state))
    return Availability(key, since, until, ok, problem, downtime, no_data, tuple(outages))


def _segments(
    since: float, until: float, initial: int | None, changes: Sequence[tuple[float, int]]
) -> list[tuple[Interval, int | None]]:
    segs: list[tuple[Interval, int | None]] = []
    at, state = since, initial
    for ts, new in changes:
        if ts >= until:
            break
        if ts <= since:
            state = new
            continue
        segs.append(((at, ts), state))
        at, state = ts, new
    if at < until:
        segs.append(((at, until), state))
    return [s for s in segs if s[0][1] > s[0][0]]


def _add_outage(outages: list[Outage], new: Outage) -> None:
    """Adjacent problem segments (WARNING then CRITICAL) are one outage with the worse state."""
    if outages and outages[-1].end == new.start:
        last = outages.pop()
        outages.append(Outage(last.start, new.end, _worse(last.state, new.state)))
    else:
        outages.append(new)


def _worse(a: int, b: int) -> int:
    # CRITICAL (2) is worse than UNKNOWN (3), which is worse than WARNING (1)
    rank = {2: 3, 3: 2, 1: 1}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def combine(key: CheckKey | None, parts: Sequence[Availability]) -> Availability:
    """An aggregate (a host with its services, a group): time-weighted sums, outages merged."""
    if not parts:
        return Availability(key, 0.0, 0.0)
    outages = sorted((o for p in parts for o in p.outages), key=lambda o: o.start)
    return Availability(
        key,
        parts[0].since,
        parts[0].until,
        sum(p.ok for p in parts),
        sum(p.problem for p in parts),
        sum(p.downtime for p in parts),
        sum(p.no_data for p in parts),
        tuple(outages),
    )
