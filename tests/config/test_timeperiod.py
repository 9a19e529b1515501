from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from augenmass.core.timeperiod import (
    TimePeriod,
    TimePeriodError,
    parse_day_ranges,
    parse_weekday_key,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int, tz: ZoneInfo = BERLIN) -> float:
    return datetime(*args, tzinfo=tz).timestamp()  # type: ignore[misc]


def office(**kw: object) -> TimePeriod:
    weekdays = {d: parse_day_ranges("08:00-12:00,13:00-18:00") for d in range(5)}
    return TimePeriod("office", weekdays, timezone="Europe/Berlin", **kw)  # type: ignore[arg-type]


def test_contains_is_half_open_and_in_the_configured_zone() -> None:
    tp = office()
    assert tp.contains(at(2026, 3, 2, 8, 0))  # Monday 08:00 Berlin
    assert not tp.contains(at(2026, 3, 2, 7, 59))
    assert not tp.contains(at(2026, 3, 2, 12, 0))  # lunch: end is exclusive
    assert tp.contains(at(2026, 3, 2, 13, 0))
    assert not tp.contains(at(2026, 3, 7, 10, 0))  # Saturday
    assert not tp.contains(at(2026, 3, 2, 8, 30, tz=ZoneInfo("UTC")) - 3600 * 2)


def test_next_inside_skips_lunch_and_weekend() -> None:
    tp = office()
    assert tp.next_inside(at(2026, 3, 2, 12, 30)) == at(2026, 3, 2, 13, 0)
    assert tp.next_inside(at(2026, 3, 6, 18, 0)) == at(2026, 3, 9, 8, 0)  # Fri eve -> Mon
    inside = at(2026, 3, 2, 9, 15)
    assert tp.next_inside(inside) == inside


def test_24_00_end_joins_the_next_day() -> None:
    late = TimePeriod(
        "late", {0: parse_day_ranges("22:00-24:00"), 1: parse_day_ranges("00:00-06:00")}
    )
    assert late.contains(at(2026, 3, 2, 23, 59, tz=ZoneInfo("UTC")))
    assert late.contains(at(2026, 3, 3, 0, 0, tz=ZoneInfo("UTC")))
    assert not late.contains(at(2026, 3, 3, 6, 0, tz=ZoneInfo("UTC")))


def test_dates_override_weekdays_and_exclude_subtracts() -> None:
    holidays = TimePeriod(
        "holidays", dates={date(2026, 12, 24): ((0, 86400),)}, timezone="Europe/Berlin"
    )
    half_day = TimePeriod(
        "half",
        {d: ((8 * 3600, 18 * 3600),) for d in range(5)},
        dates={date(2026, 12, 23): ((8 * 3600, 12 * 3600),)},
        timezone="Europe/Berlin",
    )
    assert not half_day.contains(at(2026, 12, 23, 14, 0))  # date entry beats Wednesday
    assert half_day.contains(at(2026, 12, 23, 11, 0))
    tp = office(exclude=[holidays])
    assert not tp.contains(at(2026, 12, 24, 10, 0))
    assert tp.next_inside(at(2026, 12, 24, 10, 0)) == at(2026, 12, 25, 8, 0)


def test_include_adds_and_builtins() -> None:
    weekend = TimePeriod("weekend", {5: ((0, 86400),), 6: ((0, 86400),)}, timezone="Europe/Berlin")
    tp = office(include=[weekend])
    assert tp.contains(at(2026, 3, 7, 3, 0))
    assert TimePeriod.never().next_inside(0.0) is None
    assert TimePeriod.always().next_inside(12345.0) == 12345.0


def test_dst_day_uses_wall_clock() -> None:
    tp = office()
    # 2026-03-30 is the Monday after the spring change: 08:00 is now UTC+2
    assert tp.next_inside(at(2026, 3, 28, 12, 0)) == at(2026, 3, 30, 8, 0)
    assert datetime.fromtimestamp(at(2026, 3, 30, 8, 0), ZoneInfo("UTC")).hour == 6


def test_parsers_reject_bad_input() -> None:
    assert parse_weekday_key("saturday-monday") == [5, 6, 0]
    with pytest.raises(TimePeriodError, match="crossing midnight must be split"):
        parse_day_ranges("22:00-06:00")
    with pytest.raises(TimePeriodError, match="bad time"):
        parse_day_ranges("8-12")
    with pytest.raises(TimePeriodError, match="unknown day"):
        parse_weekday_key("moonday")
