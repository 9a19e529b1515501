"""Perfdata roll-ups, retention and resolution choice, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from augenmass.core.plan import Retention
from augenmass.store import Store, WriteBatch
from augenmass.store.perf import choose_resolution

from .helpers import WEB, event, result

T0 = 1_699_999_200.0  # a whole hour (divisible by 3600)
HOUR = 3600.0


async def _three_hours(store: Store) -> list[float]:
    """One point a minute for 3 h; value = minute number, so every bucket is predictable."""
    values = [float(i) for i in range(180)]
    results = [result(T0 + 60 * i, value=v) for i, v in enumerate(values)]
    await store.write(WriteBatch(results=results))
    return values


async def test_rollups_give_5m_and_hourly_avg_min_max(store: Store) -> None:
    await _three_hours(store)
    now = T0 + 3 * HOUR + 120
    for _ in range(3):  # idempotent: more calls change nothing
        await store.rollup_and_prune(now, Retention())
    five = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")
    assert len(five) == 36
    assert five[0] == (T0, 2.0, 0.0, 4.0)  # minutes 0..4
    assert five[-1] == (T0 + 3 * HOUR - 300, 177.0, 175.0, 179.0)
    hourly = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert hourly == [
        (T0, 29.5, 0.0, 59.0),
        (T0 + HOUR, 89.5, 60.0, 119.0),
        (T0 + 2 * HOUR, 149.5, 120.0, 179.0),
    ]


async def test_not_yet_rolled_up_points_still_show_in_buckets(store: Store) -> None:
    await _three_hours(store)  # no rollup_and_prune call at all
    five = await store.series_points(WEB, "time", T0, T0 + HOUR, "5m")
    assert five[:2] == [(T0, 2.0, 0.0, 4.0), (T0 + 300, 7.0, 5.0, 9.0)]
    hourly = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert [h[1] for h in hourly] == [29.5, 89.5, 149.5]


async def test_rollup_work_per_call_is_bounded_and_catches_up(store: Store) -> None:
    await _three_hours(store)
    now = T0 + 3 * HOUR + 120
    first = await store.rollup_and_prune(now, Retention(), max_span=HOUR)
    assert first.five_minute_upto == T0 + HOUR  # one hour of raw data per call
    for _ in range(5):
        rep = await store.rollup_and_prune(now, Retention(), max_span=HOUR)
    assert rep.five_minute_upto == T0 + 3 * HOUR
    assert rep.hourly_upto == T0 + 3 * HOUR
    hourly = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert [h[1] for h in hourly] == [29.5, 89.5, 149.5]


async def test_retention_prunes_raw_after_48h_and_keeps_aggregates(store: Store) -> None:
    await _three_hours(store)
    await store.write(WriteBatch(events=[event(T0), event(T0 + 400 * 86400)]))
    ret = Retention()
    await store.rollup_and_prune(T0 + 3 * HOUR + 120, ret)
    later = T0 + 3 * HOUR + 48 * HOUR + 600
    for _ in range(20):
        rep = await store.rollup_and_prune(later, ret)
        if rep.pruned_raw == 0:
            break
    assert await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "raw") == []
    five = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")
    assert len(five) == 36
    hourly = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert len(hourly) == 3
    # 31 days on: 5-minute buckets are gone, hourly ones stay; history (2 y) keeps the events
    month = T0 + 31 * 86400
    for _ in range(20):
        rep = await store.rollup_and_prune(month, ret)
        if rep.pruned_five_minute == 0:
            break
    assert await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m") == []
    assert len(await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")) == 3
    assert len(await store.history(None, 0, T0 + 500 * 86400, 10)) == 2
    # 3 years on: the old event is pruned, the future one stays
    await store.rollup_and_prune(T0 + 3 * 365 * 86400, ret, max_span=4 * 365 * 86400)
    assert [e.at for e in await store.history(None, 0, T0 + 500 * 86400, 10)] == [T0 + 400 * 86400]


async def test_auto_resolution_follows_the_range(store: Store) -> None:
    await _three_hours(store)
    now = T0 + 3 * HOUR + 120
    await store.rollup_and_prune(now, Retention())
    raw = await store.series_points(WEB, "time", T0, T0 + HOUR, now=now)
    assert len(raw) == 60
    five = await store.series_points(WEB, "time", T0, T0 + 7 * HOUR, now=now)
    assert len(five) == 36
    hourly = await store.series_points(WEB, "time", T0 - 30 * 86400, T0 + 3 * HOUR, now=now)
    assert len(hourly) == 3


@pytest.mark.parametrize(
    ("since_ago", "span", "expected"),
    [
        (3600, 3600, "raw"),
        (6 * 3600, 6 * 3600, "raw"),
        (24 * 3600, 24 * 3600, "5m"),
        (50 * 3600, 3600, "5m"),  # raw is pruned after 48 h
        (7 * 86400, 7 * 86400, "5m"),
        (30 * 86400, 30 * 86400, "1h"),
        (40 * 86400, 3600, "1h"),  # 5-minute buckets are pruned after 30 days
    ],
)
def test_choose_resolution(since_ago: float, span: float, expected: str) -> None:
    now = 1_700_000_000.0
    since = now - since_ago
    assert choose_resolution(since, since + span, now, Retention()) == expected


async def test_unknown_series_and_bad_resolution(store: Store) -> None:
    await _three_hours(store)
    assert await store.series_points(WEB, "nope", T0, T0 + HOUR) == []
    with pytest.raises(ValueError, match="resolution"):
        await store.series_points(WEB, "time", T0, T0 + HOUR, "10s")
