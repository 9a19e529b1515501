"""Time periods: weekly ranges, dated exceptions, include/exclude; evaluated in one time zone.

A period is a set of half-open wall-clock intervals [start, end) per local calendar day. Dated
entries replace the weekday entry for that date; included periods are added and excluded
periods subtracted afterwards (exclude wins, like Nagios).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY = 86400
SEARCH_DAYS = 370  # next_inside looks this far ahead, then gives up (None)
_CACHE_LIMIT = 512

DayRanges = tuple[tuple[int, int], ...]  # (start, end) seconds since local midnight, end <= 86400
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


class TimePeriodError(ValueError):
    pass


def _clock(text: str, whole: str) -> int:
    match = _HHMM.fullmatch(text.strip())
    if not match:
        raise TimePeriodError(f"bad time {text.strip()!r} in {whole!r}: use HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise TimePeriodError(f"bad time {text.strip()!r} in {whole!r}: 00:00 .. 24:00")
    return hours * 3600 + minutes * 60


def parse_day_ranges(text: str) -> DayRanges:
    """'08:00-12:00,13:00-18:00' -> ((28800, 43200), (46800, 64800)). '' means no time."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        start_text, dash, end_text = part.partition("-")
        if not dash:
            raise TimePeriodError(f"bad range {part.strip()!r}: use HH:MM-HH:MM")
        start, end = _clock(start_text, text), _clock(end_text, text)
        if start >= end:
            raise TimePeriodError(
                f"range {part.strip()!r} ends before it starts; a range crossing midnight must "
                "be split (e.g. 22:00-24:00 and 00:00-06:00 on the next day)"
            )
        ranges.append((start, end))
    return tuple(sorted(ranges))


def parse_weekday_key(key: str) -> list[int]:
    """'monday' -> [0]; 'monday-friday' -> [0..4]; 'saturday-monday' wraps -> [5, 6, 0]."""
    first, dash, last = key.strip().lower().partition("-")
    if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
        raise TimePeriodError(f"unknown day {key!r}: use monday..sunday or e.g. monday-friday")
    start = WEEKDAYS.index(first)
    end = WEEKDAYS.index(last) if dash else start
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise TimePeriodError(f"bad date {text!r}: use YYYY-MM-DD") from None


Interval = tuple[float, float]


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(keep: list[Interval], cut: list[Interval]) -> list[Interval]:
    result: list[Interval] = []
    for start, end in keep:
        pieces = [(start, end)]
        for c_start, c_end in cut:
            pieces = [
                piece
                for p_start, p_end in pieces
                for piece in ((p_start, min(p_end, c_start)), (max(p_start, c_end), p_end))
                if piece[0] < piece[1]
            ]
        result.extend(pieces)
    return result


class TimePeriod:
    """Implements plan.TimePeriodLike. Build included/excluded periods first (no cycles)."""

    def __init__(
        self,
        name: str,
        weekly: Mapping[int, DayRanges] | None = None,
        dates: Mapping[date, DayRanges] | None = None,
        include: Sequence[TimePeriod] = (),
        exclude: Sequence[TimePeriod] = (),
        timezone: str = "UTC",
    ) -> None:
        self.name = name
        self.weekly = dict(weekly or {})
        self.dates = dict(dates or {})
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.tz = ZoneInfo(timezone)
        self._cache: dict[date, list[Interval]] = {}

    @classmethod
    def always(cls, name: str = "24x7", timezone: str = "UTC") -> TimePeriod:
        return cls(name, {day: ((0, DAY),) for day in range(7)}, timezone=timezone)

    @classmethod
    def never(cls, name: str = "never", timezone: str = "UTC") -> TimePeriod:
        return cls(name, timezone=timezone)

    def __repr__(self) -> str:
        return f"TimePeriod({self.name!r})"

    def _at(self, day: date, seconds: int) -> float:
        # wall-clock arithmetic: 24:00 is the next midnight even on a DST day
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return (midnight + timedelta(seconds=seconds)).timestamp()

    def intervals(self, day: date) -> list[Interval]:
        """The epoch intervals inside this period during the local calendar day `day`."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        own = self.dates[day] if day in self.dates else self.weekly.get(day.weekday(), ())
        spans = [(self._at(day, start), self._at(day, end)) for start, end in own]
        for other in self.include:
            spans.extend(other.intervals(day))
        result = _union(spans)
        for other in self.exclude:
            result = _subtract(result, other.intervals(day))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[day] = result
        return result

    def _local_day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def contains(self, ts: float) -> bool:
        return any(start <= ts < end for start, end in self.intervals(self._local_day(ts)))

    def next_inside(self, ts: float) -> float | None:
        first = self._local_day(ts)
        for offset in range(SEARCH_DAYS):
            for start, end in self.intervals(first + timedelta(days=offset)):
                if end > ts:
                    return max(start, ts)
        return None
