"""The public status page's content: only services the config marks public.

What leaves this module is what an anonymous visitor may see: the public name, the group, a
coarse state, the 90-day uptime with one bar per day, and the check output only where the
config says `show_output`. Never a host name, an address or a config key. The result is cached
for a short while: the page is public, so a crowd refreshing it must not load the store.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from augenmass.core.values import CheckKey, CheckState, Event, StateType
from augenmass.web import queries

if TYPE_CHECKING:
    from augenmass.control import ServerControl

DAYS = 90
DAY = 86400.0
CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Day:
    start: float
    percent: float | None  # None: no data that day

    @property
    def css(self) -> str:
        if self.percent is None:
            return "nodata"
        if self.percent >= 99.9:
            return "good"
        return "minor" if self.percent >= 95.0 else "bad"


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    status: str  # operational | degraded | outage | maintenance | unknown
    uptime: float | None
    days: tuple[Day, ...]
    output: str | None  # only when the config marks the output public


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class StatusPage:
    title: str
    groups: tuple[Group, ...]
    generated: float
    note: str = ""

    @property
    def overall(self) -> str:
        worst = {e.status for g in self.groups for e in g.entries}
        for status in ("outage", "degraded", "unknown", "maintenance"):
            if status in worst:
                return status
        return "operational"


_cache: weakref.WeakKeyDictionary[ServerControl, tuple[float, StatusPage]] = (
    weakref.WeakKeyDictionary()
)


def public_status(st: CheckState | None, host: CheckState | None) -> str:
    if st is None or not st.checked:
        return "unknown"
    in_downtime = st.downtime_depth > 0 or (host is not None and host.downtime_depth > 0)
    # a SOFT problem is not confirmed yet: show the last HARD state
    state = st.last_hard_state if st.state_type is StateType.SOFT else st.state
    if in_downtime and state != 0:
        return "maintenance"
    return {0: "operational", 1: "degraded", 2: "outage"}.get(state, "unknown")


async def build(control: ServerControl) -> StatusPage:
    now = control.clock.now()
    cached = _cache.get(control)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    page = await _build(control, now)
    _cache[control] = (now, page)
    return page


async def _build(control: ServerControl, now: float) -> StatusPage:
    plan = control.plan
    public = [s for s in plan.services.values() if s.public is not None]
    since = now - DAYS * DAY
    inputs = await queries.availability_inputs(control, [s.key for s in public], since, now)
    states = control.states
    grouped: dict[str, list[Entry]] = {}
    for svc in public:
        info = svc.public
        assert info is not None
        inp = inputs[svc.key]
        days = tuple(
            Day(d, inp.over(None, d, min(d + DAY, now)).percent)
            for d in (since + i * DAY for i in range(DAYS))
        )
        st = states.get(svc.key)
        host = states.get(CheckKey(svc.host))
        entry = Entry(
            name=info.name,
            status=public_status(st, host),
            uptime=inp.over(None, since, now).percent,
            days=days,
            output=(st.output if st is not None else "") if info.show_output else None,
        )
        grouped.setdefault(info.group, []).append(entry)
    order = list(plan.settings.status_page_groups)
    names = order + sorted(g for g in grouped if g not in order and g) + ([""] * ("" in grouped))
    groups = tuple(
        Group(name, tuple(sorted(grouped[name], key=lambda e: e.name.lower())))
        for name in names
        if name in grouped
    )
    settings = plan.settings
    return StatusPage(settings.status_page_title, groups, now, settings.status_page_note)


def clear_cache(control: ServerControl) -> None:
    _cache.pop(control, None)
    _feed_cache.pop(control, None)


# --- the incident feed (Atom): members subscribe without giving anyone an address -----------

FEED_ENTRIES = 50
_PUBLIC_STATE = {0: "operational", 1: "degraded", 2: "outage"}


@dataclass(frozen=True, slots=True)
class Incident:
    id: str  # stable, and naming no host: a hash of the public name and the time
    at: float
    name: str
    status: str  # operational (a recovery) | degraded | outage | unknown


_feed_cache: weakref.WeakKeyDictionary[ServerControl, tuple[float, list[Incident]]] = (
    weakref.WeakKeyDictionary()
)


async def incidents(control: ServerControl) -> list[Incident]:
    """Confirmed (HARD) changes of public services over the status page's 90 days, newest
    first; a SOFT blip that healed by itself is no incident."""
    now = control.clock.now()
    cached = _feed_cache.get(control)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    public = {s.key: s.public.name for s in control.plan.services.values() if s.public is not None}
    found: list[Event] = []
    if public:
        found = await control.events(list(public), ["state"], now - DAYS * DAY, now + 1)
    items = [
        _incident(ev, public[ev.key])
        for ev in reversed(found)
        if ev.state_type is StateType.HARD and ev.key in public
    ][:FEED_ENTRIES]
    _feed_cache[control] = (now, items)
    return items


def _incident(ev: Event, name: str) -> Incident:
    digest = hashlib.sha256(f"{name}\0{ev.at!r}".encode()).hexdigest()[:32]
    return Incident(digest, ev.at, name, _PUBLIC_STATE.get(ev.state, "unknown"))
