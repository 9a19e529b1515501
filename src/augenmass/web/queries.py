"""Read queries for the web UI: problems from the server's memory, history from the store.

The problems page and the search read the current states (in memory, no database round trip),
so they stay fast with 10,000 services. History, availability and notifications come through
the server control's history reads (narrow, indexed queries on the event table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from augenmass.core.values import (
    CheckKey,
    CheckState,
    Event,
    StateType,
    shown_since,
    state_name,
)
from augenmass.web import availability as av

if TYPE_CHECKING:
    from augenmass.control import ServerControl

SEVERITY = ("DOWN", "UNREACHABLE", "CRITICAL", "UNKNOWN", "WARNING")
STATE_FILTERS = ("all", *SEVERITY)
HANDLED_FILTERS = ("all", "unhandled", "handled")
DOWNTIME_LOOKBACK = 366 * 86400.0  # a downtime running into a report started at most this early
TIMELINE_KINDS = (
    "state",
    "acknowledgement",
    "acknowledgement_removed",
    "downtime_start",
    "downtime_end",
    "downtime_cancelled",
    "flapping_start",
    "flapping_stop",
)


@dataclass(frozen=True, slots=True)
class Row:
    """One host or service as the dashboard shows it."""

    key: CheckKey
    state: str  # OK, CRITICAL, DOWN, PENDING ...
    state_type: str
    attempt: int
    since: float
    last_check: float
    output: str
    acknowledged: bool
    in_downtime: bool
    host_problem: bool
    flapping: bool

    @property
    def handled(self) -> bool:
        return self.acknowledged or self.in_downtime or self.host_problem

    @property
    def rank(self) -> int:
        return SEVERITY.index(self.state) if self.state in SEVERITY else len(SEVERITY)

    @property
    def css(self) -> str:
        return self.state.lower()


def row_of(st: CheckState, host: CheckState | None) -> Row:
    name = state_name(st.state, st.key.is_host) if st.checked else "PENDING"
    host_down = host is not None and host.checked and host.state != 0
    stype = st.state_type.value if isinstance(st.state_type, StateType) else str(st.state_type)
    return Row(
        key=st.key,
        state=name,
        state_type=stype,
        attempt=st.attempt,
        since=shown_since(st),  # a problem: its first failed check, not its HARD change
        last_check=st.last_check,
        output=st.output,
        acknowledged=st.acknowledgement is not None,
        in_downtime=st.downtime_depth > 0 or (host is not None and host.downtime_depth > 0),
        host_problem=not st.key.is_host and host_down,
        flapping=st.is_flapping,
    )


@dataclass(frozen=True, slots=True)
class ProblemFilter:
    state: str = "all"
    handled: str = "all"
    tag: str = ""
    group: str = ""
    host: str = ""


def problems(control: ServerControl, flt: ProblemFilter) -> tuple[list[Row], dict[str, int]]:
    """Problems, unhandled first, then by severity and by how long they last; and the counts
    per state for the summary bar. The counts follow the filters that narrow what is looked at
    (host, tag, group, handled), not the state filter (each chip counts its own state)."""
    states = control.states
    plan = control.plan
    counts = dict.fromkeys(("OK", "UP", "PENDING", *SEVERITY), 0)
    rows: list[Row] = []
    scoped = bool(flt.host or flt.tag or flt.group)
    for key, st in states.items():
        if scoped and not _in_scope(key, flt, plan):
            continue
        if not st.checked:
            counts["PENDING"] += 1
            continue
        if st.state == 0:
            counts["UP" if key.is_host else "OK"] += 1
            continue
        row = row_of(st, None if key.is_host else states.get(CheckKey(key.host)))
        if (flt.handled == "handled" and not row.handled) or (
            flt.handled == "unhandled" and row.handled
        ):
            continue
        counts[row.state] += 1
        if flt.state in ("", "all") or row.state == flt.state:
            rows.append(row)
    rows.sort(key=lambda r: (r.handled, r.rank, r.since, r.key))
    return rows, counts


def _in_scope(key: CheckKey, flt: ProblemFilter, plan: Any) -> bool:
    if flt.host and flt.host.lower() not in key.host.lower():
        return False
    if flt.tag or flt.group:
        host = plan.hosts.get(key.host)
        svc = plan.services.get(key) if key.service else None
        tags = set(host.tags if host else ()) | set(svc.tags if svc else ())
        groups = set(host.groups if host else ()) | set(svc.groups if svc else ())
        if flt.tag and flt.tag not in tags:
            return False
        if flt.group and flt.group not in groups:
            return False
    return True


def all_tags_and_groups(control: ServerControl) -> tuple[list[str], list[str]]:
    tags: set[str] = set()
    groups: set[str] = set()
    for h in control.plan.hosts.values():
        tags.update(h.tags)
        groups.update(h.groups)
    for s in control.plan.services.values():
        tags.update(s.tags)
        groups.update(s.groups)
    return sorted(tags), sorted(groups)


def search(control: ServerControl, text: str, limit: int = 20) -> list[Row]:
    """Hosts and services whose name (or display name, or address) contains `text`."""
    needle = text.strip().lower()
    if not needle:
        return []
    states = control.states
    found: list[Row] = []
    for host in control.plan.hosts.values():
        hay = f"{host.name} {host.display_name} {host.address}".lower()
        if needle in hay and host.key in states:
            found.append(row_of(states[host.key], None))
    for svc in control.plan.services.values():
        hay = f"{svc.host}/{svc.name} {svc.display_name}".lower()
        if needle in hay and svc.key in states:
            found.append(row_of(states[svc.key], states.get(CheckKey(svc.host))))
        if len(found) >= limit * 4:
            break
    # names that start with the text first, then shorter names
    found.sort(key=lambda r: (not str(r.key).lower().startswith(needle), len(str(r.key)), r.key))
    return found[:limit]


# --- history ---------------------------------------------------------------------------------


async def events(
    control: ServerControl,
    keys: Sequence[CheckKey],
    kinds: Sequence[str],
    since: float,
    until: float,
    limit: int = 5000,
) -> list[Event]:
    """Events of these kinds for these keys, since <= at < until, oldest first."""
    return await control.events(keys, kinds, since, until, limit)


async def recent(
    control: ServerControl, key: CheckKey, kinds: Sequence[str], limit: int = 50
) -> list[Event]:
    """The newest `limit` events of these kinds for one key, newest first."""
    return await control.recent_events(key, kinds, limit)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What availability needs of one key: the HARD state at the start, the HARD changes in
    the window and the (merged) downtime intervals."""

    initial: int | None
    changes: list[tuple[float, int]]
    downtimes: list[av.Interval]

    def over(self, key: CheckKey | None, since: float, until: float) -> av.Availability:
        """Availability over a sub-window (a day of the status page's bar)."""
        initial = self.initial
        inside: list[tuple[float, int]] = []
        for ts, state in self.changes:
            if ts <= since:
                initial = state
            elif ts < until:
                inside.append((ts, state))
        spans = [
            (max(a, since), min(b, until)) for a, b in self.downtimes if b > since and a < until
        ]
        return av.compute(key, since, until, initial, inside, spans)


async def availability_inputs(
    control: ServerControl, keys: Sequence[CheckKey], since: float, until: float
) -> dict[CheckKey, Inputs]:
    if not keys:
        return {}
    dt_keys = unique([*keys, *(CheckKey(k.host) for k in keys)])
    kinds = (av.DOWNTIME_START, *av.DOWNTIME_ENDS)
    dt_events = await events(control, dt_keys, kinds, since - DOWNTIME_LOOKBACK, until, 100_000)
    changes = await events(control, list(keys), av.STATE_KINDS, since, until, 200_000)
    before = await control.hard_states_before(list(keys), since)
    dt_by_key: dict[CheckKey, list[Event]] = {}
    for ev in dt_events:
        dt_by_key.setdefault(ev.key, []).append(ev)
    ch_by_key: dict[CheckKey, list[Event]] = {}
    for ev in changes:
        ch_by_key.setdefault(ev.key, []).append(ev)
    active = _active_downtimes(control, until)
    out: dict[CheckKey, Inputs] = {}
    for key in keys:
        host_dts = [] if key.is_host else dt_by_key.get(CheckKey(key.host), [])
        mine = dt_by_key.get(key, []) + host_dts
        spans = av.downtime_intervals(mine, since, until, _spans_for(active, key))
        initial = before.get(key)
        if initial is None:
            initial = _known_since(control.states.get(key), since)
        out[key] = Inputs(initial, av.hard_changes(ch_by_key.get(key, [])), spans)
    return out


async def availability(
    control: ServerControl, keys: Sequence[CheckKey], since: float, until: float
) -> dict[CheckKey, av.Availability]:
    """Availability per key over [since, until), scheduled downtime (own or host's) left out."""
    inputs = await availability_inputs(control, keys, since, until)
    return {key: inp.over(key, since, until) for key, inp in inputs.items()}


def _known_since(st: CheckState | None, since: float) -> int | None:
    """No event before the window (history pruned, or older than the store): if the current
    HARD state began before the window, it held for the whole window up to the first change."""
    if st is None or not st.checked or st.last_hard_state_change <= 0:
        return None
    return st.last_hard_state if st.last_hard_state_change <= since else None


def _active_downtimes(control: ServerControl, until: float) -> Mapping[CheckKey, list[av.Interval]]:
    spans: dict[CheckKey, list[av.Interval]] = {}
    for dt in control.downtimes.values():
        if dt.started_at is not None:
            spans.setdefault(dt.key, []).append((dt.started_at, until))
    return spans


def _spans_for(active: Mapping[CheckKey, list[av.Interval]], key: CheckKey) -> list[av.Interval]:
    own = list(active.get(key, []))
    return own if key.is_host else own + list(active.get(CheckKey(key.host), []))


def keys_of_group(control: ServerControl, group: str) -> list[CheckKey]:
    """Services in a service group, or all services of the hosts in a host group."""
    plan = control.plan
    hosts = {h.name for h in plan.hosts.values() if group in h.groups}
    return [s.key for s in plan.services.values() if group in s.groups or s.host in hosts]


def unique(items: Iterable[CheckKey]) -> list[CheckKey]:
    return list(dict.fromkeys(items))
