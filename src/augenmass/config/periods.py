"""Build TimePeriod objects from the `timeperiods:` section."""

from __future__ import annotations

from datetime import date
from typing import Any

from augenmass.config.paths import Where
from augenmass.config.sections import Entry
from augenmass.config.suggest import did_you_mean, unknown
from augenmass.core.errors import ConfigProblem
from augenmass.core.timeperiod import (
    WEEKDAYS,
    DayRanges,
    TimePeriod,
    TimePeriodError,
    parse_date,
    parse_day_ranges,
    parse_weekday_key,
)

BUILTIN = ("24x7", "never")
_KEYS = (*WEEKDAYS, "dates", "exclude", "include")


def _names(value: Any, where: Where, problems: list[ConfigProblem]) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        problems.append(where.problem("expected a list of time period names"))
        return []
    return list(items)


def _ranges(value: Any, where: Where, problems: list[ConfigProblem]) -> DayRanges:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    if not isinstance(value, str):
        problems.append(where.problem('expected time ranges like "08:00-12:00,13:00-18:00"'))
        return ()
    try:
        return parse_day_ranges(value)
    except TimePeriodError as exc:
        problems.append(where.problem(str(exc)))
        return ()


class _Spec:
    """A parsed but not yet linked period."""

    def __init__(self, entry: Entry, problems: list[ConfigProblem]) -> None:
        self.entry = entry
        self.weekly: dict[int, DayRanges] = {}
        self.dates: dict[date, DayRanges] = {}
        self.include: list[str] = []
        self.exclude: list[str] = []
        body = {} if entry.body is None else entry.body
        if not isinstance(body, dict):
            problems.append(entry.where.problem("expected a mapping of days to time ranges"))
            return
        for key, value in body.items():
            self._key(str(key), value, entry.where.at(key), problems)

    def _key(self, key: str, value: Any, where: Where, problems: list[ConfigProblem]) -> None:
        if key in ("include", "exclude"):
            getattr(self, key).extend(_names(value, where, problems))
        elif key == "dates":
            self._dates(value, where, problems)
        else:
            try:
                days = parse_weekday_key(key)
            except TimePeriodError:
                problems.append(where.problem("unknown key" + did_you_mean(key, _KEYS)))
                return
            ranges = _ranges(value, where, problems)
            for day in days:
                self.weekly[day] = tuple(sorted(self.weekly.get(day, ()) + ranges))

    def _dates(self, value: Any, where: Where, problems: list[ConfigProblem]) -> None:
        if isinstance(value, list):
            items: list[tuple[Any, Any, Where]] = [
                (v, "00:00-24:00", where.at(i)) for i, v in enumerate(value)
            ]
        elif isinstance(value, dict):
            items = [(k, v, where.at(k)) for k, v in value.items()]
        else:
            problems.append(where.problem("expected a list of dates or a mapping date -> ranges"))
            return
        for day_text, ranges, place in items:
            try:
                day = parse_date(str(day_text))
            except TimePeriodError as exc:
                problems.append(place.problem(str(exc)))
                continue
            self.dates[day] = _ranges(ranges, place, problems)


def build_timeperiods(
    entries: dict[str, Entry], timezone: str, problems: list[ConfigProblem]
) -> dict[str, TimePeriod]:
    specs: dict[str, _Spec] = {}
    for name, entry in entries.items():
        if name in BUILTIN:
            problems.append(entry.where.problem(f"{name!r} is built in and cannot be redefined"))
        else:
            specs[name] = _Spec(entry, problems)
    built: dict[str, TimePeriod] = {
        "24x7": TimePeriod.always("24x7", timezone),
        "never": TimePeriod.never("never", timezone),
    }
    for name in specs:
        _link(name, specs, built, [], timezone, problems)
    return built


def _link(
    name: str,
    specs: dict[str, _Spec],
    built: dict[str, TimePeriod],
    stack: list[str],
    timezone: str,
    problems: list[ConfigProblem],
) -> TimePeriod | None:
    if name in built:
        return built[name]
    spec = specs[name]
    if name in stack:
        cycle = " -> ".join(stack[stack.index(name) :] + [name])
        problems.append(spec.entry.where.problem(f"time period cycle: {cycle}"))
        return None
    linked: dict[str, list[TimePeriod]] = {"include": [], "exclude": []}
    for kind, others in (("include", spec.include), ("exclude", spec.exclude)):
        for other in others:
            if other not in specs and other not in built:
                where = spec.entry.where.at(kind)
                problems.append(where.problem(unknown("time period", other, [*specs, *BUILTIN])))
                continue
            period = _link(other, specs, built, stack + [name], timezone, problems)
            if period is not None:
                linked[kind].append(period)
    if name in built:  # a cycle through this period was just reported
        return built[name]
    built[name] = TimePeriod(
        name, spec.weekly, spec.dates, linked["include"], linked["exclude"], timezone
    )
    return built[name]
