"""Perfdata roll-ups, retention and resolution choice, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from augenmass.core.plan import Retention
from augenmass.store import Store, WriteBatch
from augenmass.store import schema as t
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


# --- any stored timestamp: roll-ups and pruning never stall --------------------------------

NOW = T0 + 3 * HOUR + 120  # three hours of points, two minutes on
YEAR_3000 = 32_503_680_000.0


async def _until_settled(store: Store, now: float, ret: Retention, calls: int = 5) -> int:
    """rollup_and_prune until it has nothing left to do; how many calls that took."""
    last = None
    for n in range(1, calls + 1):
        rep = await store.rollup_and_prune(now, ret)
        key = (rep.five_minute_upto, rep.hourly_upto, rep.pruned_raw, rep.pruned_five_minute)
        if key == last:
            return n
        last = key
    raise AssertionError(f"roll-ups still moving after {calls} calls: {last}")


async def _points_at(store: Store, ts: float) -> list[float]:
    p = t.point.c
    async with store.engine.connect() as conn:
        return list(await conn.scalars(sa.select(p.value).where(p.ts == ts)))


async def test_a_point_stamped_1970_does_not_stall_rollups_or_pruning(store: Store) -> None:
    await store.write(WriteBatch(results=[result(0.0, value=-1.0)]))
    await _three_hours(store)
    assert await _until_settled(store, NOW, Retention()) <= 3
    five = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")
    assert len(five) == 36 and five[0] == (T0, 2.0, 0.0, 4.0)
    hourly = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert [h[1] for h in hourly] == [29.5, 89.5, 149.5]
    assert await _points_at(store, 0.0) == []  # decades past the 48 h raw retention
    assert await store.series_points(WEB, "time", 0, HOUR, "1h") == []


async def test_a_store_whose_rollups_were_stuck_in_1970_catches_up(store: Store) -> None:
    # What the bug left behind: the watermarks set from a 1970 point, in 1970.
    await store.write(WriteBatch(results=[result(0.0, value=-1.0)]))
    await store.rollup_and_prune(10 * HOUR, Retention())
    await _three_hours(store)
    assert await _until_settled(store, NOW, Retention()) <= 3
    rep = await store.rollup_and_prune(NOW, Retention())
    assert (rep.five_minute_upto, rep.hourly_upto) == (T0 + 3 * HOUR, T0 + 3 * HOUR)
    assert len(await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")) == 36
    # and raw points past retention are pruned, the old and the normal ones
    later = NOW + 48 * HOUR + 1800
    await _until_settled(store, later, Retention())
    assert await store.series_points(WEB, "time", 0, T0 + 3 * HOUR, "raw") == []
    assert len(await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")) == 36


async def test_a_point_in_the_year_3000_waits_and_blocks_nothing(store: Store) -> None:
    await store.write(WriteBatch(results=[result(YEAR_3000, value=-1.0)]))
    await _three_hours(store)
    assert await _until_settled(store, NOW, Retention()) <= 3
    rep = await store.rollup_and_prune(NOW, Retention())
    assert (rep.five_minute_upto, rep.hourly_upto) == (T0 + 3 * HOUR, T0 + 3 * HOUR)
    assert len(await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")) == 36
    later = NOW + 48 * HOUR + 1800
    await _until_settled(store, later, Retention())
    assert await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "raw") == []
    assert await _points_at(store, YEAR_3000) == [-1.0]  # not due yet: kept, harmless


async def test_non_finite_times_and_values_never_reach_the_store(store: Store) -> None:
    nan = float("nan")
    await store.write(
        WriteBatch(results=[result(nan), result(float("inf")), result(T0, value=nan)])
    )
    await _three_hours(store)
    assert await _until_settled(store, NOW, Retention()) <= 3
    assert len(await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "5m")) == 36


async def test_rollups_jump_over_weeks_without_data(store: Store) -> None:
    ret = Retention(raw=60 * 86400.0)
    await _three_hours(store)
    three_weeks = 21 * 86400.0
    await store.write(WriteBatch(results=[result(T0 + three_weeks + 60 * i) for i in range(60)]))
    now = T0 + three_weeks + HOUR + 120
    # walking 6 hours a call would take 84 calls
    assert await _until_settled(store, now, ret) <= 3
    five = await store.series_points(WEB, "time", T0 + three_weeks, now, "5m")
    assert len(five) == 12


async def test_late_points_reach_the_rollups(store: Store) -> None:
    await _three_hours(store)
    await _until_settled(store, NOW, Retention())
    # a passive result sent 2.5 hours late, between two minutes of the first hour
    late = T0 + 30 * 60 + 30
    await store.write(WriteBatch(results=[result(late, value=1000.0)]))
    assert await _until_settled(store, NOW + 300, Retention()) <= 3
    raw = await store.series_points(WEB, "time", late, late + 1, "raw")
    assert raw == [(late, 1000.0, 1000.0, 1000.0)]
    five = await store.series_points(WEB, "time", T0 + 1800, T0 + 2100, "5m")
    assert five == [(T0 + 1800, (30 + 31 + 32 + 33 + 34 + 1000) / 6, 30.0, 1000.0)]
    [first, *_] = await store.series_points(WEB, "time", T0, T0 + 3 * HOUR, "1h")
    assert first == (T0, (sum(range(60)) + 1000) / 61, 0.0, 1000.0)
