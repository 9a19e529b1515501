"""Perfdata series per check are capped, the drops counted and warned about once per check,
and series without data for longer than the longest retention are deleted with their rows."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from augenmass.core.plan import Retention
from augenmass.core.values import CheckKey, CheckResult, PerfDatum
from augenmass.store import Store, WriteBatch, perf
from augenmass.store import schema as t

from .conftest import Db
from .helpers import WEB

T0 = 1_699_999_200.0
HOUR = 3600.0
DB = CheckKey("db1", "query")


def run(at: float, *labels: str, key: CheckKey = WEB) -> CheckResult:
    perf = tuple(PerfDatum(lbl, float(i), "") for i, lbl in enumerate(labels))
    return CheckResult(key=key, status=0, output="ok", perfdata=perf, started_at=at)


async def _labels(store: Store, key: CheckKey = WEB) -> list[str]:
    s = t.series.c
    q = sa.select(s.label).where(s.host == key.host, s.service == (key.service or ""))
    async with store.engine.connect() as conn:
        return sorted(await conn.scalars(q))


async def _rows(store: Store, table: sa.Table) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_new_labels_beyond_the_cap_are_dropped_counted_and_warned_once(
    db: Db, caplog: pytest.LogCaptureFixture
) -> None:
    store = await db.open(max_series_per_check=3)
    try:
        with caplog.at_level(logging.WARNING, logger="augenmass.store"):
            await store.write(WriteBatch(results=[run(T0, "a", "b"), run(T0, "x", key=DB)]))
            # a plugin that makes up a label per run: c fits, the rest do not
            for i in range(10):
                await store.write(WriteBatch(results=[run(T0 + 60 * (i + 1), "a", "c", f"n{i}")]))
        assert await _labels(store) == ["a", "b", "c"]
        assert await _labels(store, DB) == ["x"]  # every check has its own budget
        assert store.series_dropped == 10  # n0..n9, one value each
        assert len(await store.series_points(WEB, "a", T0, T0 + HOUR, "raw")) == 11
        assert await store.series_points(WEB, "n5", T0, T0 + HOUR, "raw") == []
        warned = [r for r in caplog.records if "series limit" in r.getMessage()]
        assert len(warned) == 1
        assert warned[0].__dict__["check"] == "web1/http"
        assert warned[0].__dict__["max_series_per_check"] == 3
    finally:
        await store.close()
    # The cap counts what is stored, also after a restart.
    again = await db.open(max_series_per_check=3)
    try:
        await again.write(WriteBatch(results=[run(T0 + HOUR, "a", "z")]))
        assert await _labels(again) == ["a", "b", "c"]
        assert again.series_dropped == 1
        again.max_series_per_check = 4  # a reload with a higher cap: room for one more
        await again.write(WriteBatch(results=[run(T0 + HOUR + 60, "z", "zz")]))
        assert await _labels(again) == ["a", "b", "c", "z"]
    finally:
        await again.close()


async def test_one_result_with_many_labels_keeps_the_first_ones(db: Db) -> None:
    store = await db.open(max_series_per_check=100)
    try:
        labels = [f"disk{i:03d}" for i in range(250)]
        await store.write(WriteBatch(results=[run(T0, *labels)]))
        assert await _labels(store) == labels[:100]
        assert store.series_dropped == 150
    finally:
        await store.close()


async def test_series_without_data_beyond_the_longest_retention_are_deleted(db: Db) -> None:
    ret = Retention(raw=2 * HOUR, five_minute=4 * HOUR, hourly=8 * HOUR)
    store = await db.open(max_series_per_check=2)
    try:
        # "gone" stops after the first hour; "kept" goes on
        await store.write(WriteBatch(results=[run(T0 + 60 * i, "gone", "kept") for i in range(60)]))
        await store.write(
            WriteBatch(results=[run(T0 + HOUR + 60 * i, "kept") for i in range(12 * 60)])
        )
        now = T0 + 13 * HOUR
        for _ in range(6):  # bounded: a few calls catch up on 13 hours
            rep = await store.rollup_and_prune(now, ret)
        assert await _labels(store) == ["kept"]
        assert rep.pruned_series == 0  # the one stale series went in an earlier call
        assert len(await store.series_points(WEB, "kept", now - 2 * HOUR, now, "1h")) == 2
        async with store.engine.connect() as conn:
            for table in (t.point, t.rollup_5m, t.rollup_1h):
                orphans = await conn.scalar(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(~table.c.series_id.in_(sa.select(t.series.c.id)))
                )
                assert orphans == 0, table.name
        # the freed place takes a new label
        await store.write(WriteBatch(results=[run(now, "kept", "new")]))
        assert await _labels(store) == ["kept", "new"]
        assert store.series_dropped == 0
        assert await _rows(store, t.series) == 2
    finally:
        await store.close()


async def test_the_stale_series_scan_is_bounded_and_wraps_around(db: Db) -> None:
    from augenmass.store import perf

    store = await db.open()
    try:
        keys = [CheckKey(f"h{i}", "svc") for i in range(7)]
        await store.write(WriteBatch(results=[run(T0, "v", key=k) for k in keys]))
        cutoff = T0 + 1  # every one of them is older
        seen: list[str] = []
        after = 0
        async with store.engine.begin() as conn:
            for _ in range(4):
                gone, after = await perf.prune_series(conn, cutoff, after, limit=3)
                seen += [h for h, _, _ in gone]
                if after == 0:
                    break
        assert sorted(seen) == sorted(k.host for k in keys) and after == 0
    finally:
        await store.close()


def test_the_series_cache_finds_each_id_after_labels_come_and_go() -> None:
    """The write path's cache of series ids (per check: its labels and their ids side by side):
    ids stay with their labels when one in the middle goes, and the counts follow."""
    ids = perf.SeriesIds()
    for n, label in enumerate(("a", "b", "c"), 1):
        ids.add(("web1", "http", label), n)
    ids.add(("web2", "http", "a"), 10)
    ids.add(("web2", "http", "b"), 11)
    ids.add(("web2", "http", "c"), 12)
    assert (len(ids), ids.count(("web1", "http")), ids.get(("web1", "http", "c"))) == (6, 3, 3)
    assert ids.missing({("web1", "http", "a"), ("web1", "http", "d"), ("db", "", "a")}) == {
        ("web1", "http", "d"),
        ("db", "", "a"),
    }
    ids.discard(("web1", "http", "b"))
    ids.discard(("web1", "http", "nope"))
    assert [ids.get(("web1", "http", x)) for x in "abc"] == [1, None, 3]
    assert [ids.get(("web2", "http", x)) for x in "abc"] == [10, 11, 12]  # untouched
    ids.add(("web1", "http", "b"), 7)
    ids.add(("web1", "http", "a"), 8)  # a new id for a known label replaces it
    assert [ids.get(("web1", "http", x)) for x in "abc"] == [8, 7, 3] and len(ids) == 6
    for label in "abc":
        ids.discard(("web1", "http", label))
    assert ids.count(("web1", "http")) == 0 and len(ids) == 3
    assert ids.get(("web1", "http", "a")) is None and ("web1", "http", "a") not in ids
