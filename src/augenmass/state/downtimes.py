"""Downtime timing rules (docs/semantics.md §9): fixed windows, flexible downtimes, depth."""

from __future__ import annotations

from collections.abc import Iterable

from augenmass.core.values import CheckKey, Downtime


def problem(dt: Downtime) -> str | None:
    """Why a downtime cannot be scheduled, or None."""
    if not dt.id:
        return "a downtime needs an id"
    if dt.end <= dt.start:
        return "downtime end must be after its start"
    if not dt.fixed and dt.duration <= 0:
        return "a flexible downtime needs a positive duration"
    return None


def is_active(dt: Downtime) -> bool:
    return dt.started_at is not None


def ends_at(dt: Downtime) -> float:
    """When an active downtime ends, or when a pending one expires unused."""
    if dt.started_at is not None and not dt.fixed:
        return dt.started_at + dt.duration
    return dt.end


def should_start(dt: Downtime, now: float, in_problem: bool) -> bool:
    """Fixed: inside [start, end). Flexible: the object is in a problem inside the window."""
    if is_active(dt) or now >= dt.end or now < dt.start:
        return False
    return dt.fixed or in_problem


def depth(downtimes: Iterable[Downtime], key: CheckKey) -> int:
    return sum(1 for dt in downtimes if dt.key == key and is_active(dt))


def next_time(dt: Downtime, now: float) -> float | None:
    """The next moment this downtime needs a tick (start or end), if after `now`."""
    times = [ends_at(dt)]
    if not is_active(dt):
        times.append(dt.start)
    later = [t for t in times if t > now]
    return min(later) if later else None
