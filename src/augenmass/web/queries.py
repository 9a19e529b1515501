"""Read queries for the web UI: problems from the engine's memory, history from the store.

The problems page and the search read `server.engine.states` (in memory, no database round
trip), so they stay fast with 10,000 services. History, availability and notifications read the
`event` table directly with narrow, indexed queries (ix_event_key_at).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augenmass.core.values import CheckKey, CheckState, Event, StateType, state_name
from augenmass.store import schema as t
from augenmass.store.codec import event_from, key_cols
from augenmass.web import availability as av

if TYPE_CHECKING:
    from augenmass.server.server import Server

SEVERITY = ("DOWN", "UNREACHABLE", "CRITICAL", "UNKNOWN", "WARNING")
STATE_FILTERS = ("all", *SEVERITY)
HANDLED_FILTERS = ("all", "unhandled", "handled")
CHUNK = 400  # keys per IN (...) list: well under SQLite's parameter limit
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
        since=st.last_state_change,
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


def problems(server: Server, flt: ProblemFilter) -> tuple[list[Row], dict[str, int]]:
    """Problems, unhandled first, then by severity and by how long they last; and the counts
    per state over everything (not just the filtered rows), for the summary bar."""
    states = server.engine.states
    plan = server.plan
    counts = dict.fromkeys(("OK", "UP", "PENDING", *SEVERITY), 0)
    rows: list[Row] = []
    for key, st in states.items():
        if not st.checked:
            counts["PENDING"] += 1
            continue
        if st.state == 0:
            counts["UP" if key.is_host else "OK"] += 1
            continue
        row = row_of(st, None if key.is_host else states.get(CheckKey(key.host)))
        counts[row.state] += 1
        if _wanted(server, row, flt, plan):
            rows.append(row)
    rows.sort(key=lambda r: (r.handled, r.rank, r.since, r.key))
    return rows, counts


def _wanted(server: Server, row: Row, flt: ProblemFilter, plan: Any) -> bool:
    if flt.state not in ("", "all") and row.state != flt.state:
        return False
    if flt.handled == "handled" and not row.handled:
        return False
    if flt.handled == "unhandled" and row.handled:
        return False
    if flt.host and flt.host.lower() not in row.key.host.lower():
        return False
    if flt.tag or flt.group:
        host = plan.hosts.get(row.key.host)
        svc = plan.services.get(row.key) if row.key.service else None
        tags = set(host.tags if host else ()) | set(svc.tags if svc else ())
        groups = set(host.groups if host else ()) | set(svc.groups if svc else ())
        if flt.tag and flt.tag not in tags:
            return False
        if flt.group and flt.group not in groups:
            return False
    return True


def all_tags_and_groups(server: Server) -> tuple[list[str], list[str]]:
    tags: set[str] = set()
    groups: set[str] = set()
    for h in server.plan.hosts.values():
        tags.update(h.tags)
        groups.update(h.groups)
    for s in server.plan.services.values():
        tags.update(s.tags)
        groups.update(s.groups)
    return sorted(tags), sorted(groups)


def search(server: Server, text: str, limit: int = 20) -> list[Row]:
    """Hosts and services whose name (or display name, or address) contains `text`."""
    needle = text.strip().lower()
    if not needle:
        return []
    states = server.engine.states
    found: list[Row] = []
    for host in server.plan.hosts.values():
        hay = f"{host.name} {host.display_name} {host.address}".lower()
        if needle in hay and host.key in states:
            found.append(row_of(states[host.key], None))
    for svc in server.plan.services.values():
        hay = f"{svc.host}/{svc.name} {svc.display_name}".lower()
        if needle in hay and svc.key in states:
            found.append(row_of(states[svc.key], states.get(CheckKey(svc.host))))
        if len(found) >= limit * 4:
            break
    # names that start with the text first, then shorter names
    found.sort(key=lambda r: (not str(r.key).lower().startswith(needle), len(str(r.key)), r.key))
    return found[:limit]


# --- history ---------------------------------------------------------------------------------


def _key_filter(keys: Sequence[CheckKey]) -> Any:
    e = t.event.c
    return sa.or_(*[sa.and_(e.host == h, e.service == s) for h, s in map(key_cols, keys)])


def _where_keys(q: Any, keys: Sequence[CheckKey]) -> list[Any]:
    """The query per chunk of keys; with many keys one query over the time range instead (the
    caller filters), because hundreds of OR'ed key pairs make the database work harder."""
    if len(keys) > CHUNK:
        return [q]
    return [q.where(_key_filter(keys))] if keys else []


async def events(
    server: Server,
    keys: Sequence[CheckKey],
    kinds: Sequence[str],
    since: float,
    until: float,
    limit: int = 5000,
) -> list[Event]:
    """Events of these kinds for these keys, since <= at < until, oldest first."""
    e = t.event.c
    wanted = set(keys)
    base = (
        sa.select(t.event)
        .where(e.kind.in_(kinds), e.at >= since, e.at < until)
        .order_by(e.at.desc(), e.id.desc())
    )
    out: list[Event] = []
    async with server.store.engine.connect() as conn:
        for q in _where_keys(base, keys):
            for row in await conn.execute(q.limit(limit if len(keys) <= CHUNK else limit * 4)):
                ev = event_from(row)
                if ev.key in wanted:
                    out.append(ev)
    out.sort(key=lambda ev: ev.at)
    return out[-limit:]


async def recent(
    server: Server, key: CheckKey, kinds: Sequence[str], limit: int = 50
) -> list[Event]:
    """The newest `limit` events of these kinds for one key, newest first."""
    e = t.event.c
    host, service = key_cols(key)
    q = (
        sa.select(t.event)
        .where(e.host == host, e.service == service, e.kind.in_(kinds))
        .order_by(e.at.desc(), e.id.desc())
        .limit(limit)
    )
    async with server.store.engine.connect() as conn:
        return [event_from(row) for row in await conn.execute(q)]


async def hard_state_before(
    server: Server, keys: Sequence[CheckKey], ts: float
) -> dict[CheckKey, int]:
    """The HARD state each key was in at `ts`, from its last state event before then."""
    e = t.event.c
    hard = sa.and_(
        e.kind == "state", e.at < ts, sa.or_(e.state_type == StateType.HARD.value, e.state == 0)
    )
    latest = sa.select(e.host, e.service, sa.func.max(e.at).label("at")).where(hard)
    wanted = set(keys)
    found: dict[CheckKey, int] = {}
    async with server.store.engine.connect() as conn:
        for q in _where_keys(latest, keys):
            sub = q.group_by(e.host, e.service).subquery()
            rows = (
                sa.select(e.host, e.service, e.state, e.id)
                .join(
                    sub, sa.and_(e.host == sub.c.host, e.service == sub.c.service, e.at == sub.c.at)
                )
                .where(hard)
                .order_by(e.id)
            )
            for row in await conn.execute(rows):
                key = CheckKey(row.host, row.service or None)
                if key in wanted:
                    found[key] = row.state  # the newest id wins on equal times
    return found


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
    server: Server, keys: Sequence[CheckKey], since: float, until: float
) -> dict[CheckKey, Inputs]:
    if not keys:
        return {}
    dt_keys = unique([*keys, *(CheckKey(k.host) for k in keys)])
    kinds = (av.DOWNTIME_START, *av.DOWNTIME_ENDS)
    dt_events = await events(server, dt_keys, kinds, since - DOWNTIME_LOOKBACK, until, 100_000)
    changes = await events(server, list(keys), av.STATE_KINDS, since, until, 200_000)
    before = await hard_state_before(server, list(keys), since)
    dt_by_key: dict[CheckKey, list[Event]] = {}
    for ev in dt_events:
        dt_by_key.setdefault(ev.key, []).append(ev)
    ch_by_key: dict[CheckKey, list[Event]] = {}
    for ev in changes:
        ch_by_key.setdefault(ev.key, []).append(ev)
    active = _active_downtimes(server, until)
    out: dict[CheckKey, Inputs] = {}
    for key in keys:
        host_dts = [] if key.is_host else dt_by_key.get(CheckKey(key.host), [])
        mine = dt_by_key.get(key, []) + host_dts
        spans = av.downtime_intervals(mine, since, until, _spans_for(active, key))
        initial = before.get(key)
        if initial is None:
            initial = _known_since(server.engine.states.get(key), since)
        out[key] = Inputs(initial, av.hard_changes(ch_by_key.get(key, [])), spans)
    return out


async def availability(
    server: Server, keys: Sequence[CheckKey], since: float, until: float
) -> dict[CheckKey, av.Availability]:
    """Availability per key over [since, until), scheduled downtime (own or host's) left out."""
    inputs = await availability_inputs(server, keys, since, until)
    return {key: inp.over(key, since, until) for key, inp in inputs.items()}


def _known_since(st: CheckState | None, since: float) -> int | None:
    """No event before the window (history pruned, or older than the store): if the current
    HARD state began before the window, it held for the whole window up to the first change."""
    if st is None or not st.checked or st.last_hard_state_change <= 0:
        return None
    return st.last_hard_state if st.last_hard_state_change <= since else None


def _active_downtimes(server: Server, until: float) -> Mapping[CheckKey, list[av.Interval]]:
    spans: dict[CheckKey, list[av.Interval]] = {}
    for dt in server.engine.downtimes.values():
        if dt.started_at is not None:
            spans.setdefault(dt.key, []).append((dt.started_at, until))
    return spans


def _spans_for(active: Mapping[CheckKey, list[av.Interval]], key: CheckKey) -> list[av.Interval]:
    own = list(active.get(key, []))
    return own if key.is_host else own + list(active.get(CheckKey(key.host), []))


def keys_of_group(server: Server, group: str) -> list[CheckKey]:
    """Services in a service group, or all services of the hosts in a host group."""
    plan = server.plan
    hosts = {h.name for h in plan.hosts.values() if group in h.groups}
    return [s.key for s in plan.services.values() if group in s.groups or s.host in hosts]


def unique(items: Iterable[CheckKey]) -> list[CheckKey]:
    return list(dict.fromkeys(items))
