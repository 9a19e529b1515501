"""The store contract, run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from augenmass.core.values import CheckKey, CheckResult, PerfDatum
from augenmass.store import Store, WriteBatch, codec
from augenmass.store import schema as t
from augenmass.store.database import current_revision, head_revision, migrate
from augenmass.store.store import LOAD_SLICE, ROW_SLICE

from .conftest import Db
from .helpers import HOST, WEB, ack, downtime, event, result, state


async def test_round_trip_of_everything(store: Store) -> None:
    st = state(WEB, 2, acknowledgement=ack(), state_history=(0, 2, 2), notified_on=frozenset({2}))
    host_st = state(HOST, 0)
    res = CheckResult(
        key=WEB,
        status=2,
        output="HTTP CRITICAL",
        long_output="line1\nline2",
        perfdata=(PerfDatum("time", 0.5, "s", "1", "2", 0.0, None),),
        started_at=1000.0,
        duration=0.25,
        source="agent:a1",
        passive=True,
        truncated=True,
        notes=("bad perfdata 'x'",),
    )
    ev = event(1000.0)
    await store.write(
        WriteBatch(
            states=[st, host_st],
            downtimes_set=[downtime("dt-1"), downtime("dt-2", HOST)],
            events=[ev],
            results=[res],
        )
    )
    snap = await store.load()
    assert snap.states == {WEB: st, HOST: host_st}
    assert snap.downtimes == {"dt-1": downtime("dt-1"), "dt-2": downtime("dt-2", HOST)}
    assert await store.history(WEB, 0, 2000, 10) == [ev]
    assert await store.last_results(WEB, 5) == [res]
    assert await store.series_points(WEB, "time", 0, 2000, "raw") == [(1000.0, 0.5, 0.5, 0.5)]


async def test_restart_reopens_with_the_same_data(db: Db) -> None:
    s = await db.open()
    await s.write(WriteBatch(states=[state(acknowledgement=ack())], downtimes_set=[downtime()]))
    await s.write(WriteBatch(results=[result(1000.0)], events=[event(1000.0)]))
    await s.close()

    s = await db.open()
    try:
        snap = await s.load()
        assert snap.states[WEB].acknowledgement == ack()
        assert list(snap.downtimes) == ["dt-1"]
        assert [r.started_at for r in await s.last_results(WEB)] == [1000.0]
        # the ring continues after a restart instead of overwriting slot 0
        await s.write(WriteBatch(results=[result(1060.0)]))
        assert [r.started_at for r in await s.last_results(WEB)] == [1060.0, 1000.0]
    finally:
        await s.close()


async def test_later_state_and_downtime_changes_win(store: Store) -> None:
    await store.write(
        WriteBatch(states=[state(st=2)], downtimes_set=[downtime("a"), downtime("b")])
    )
    await store.write(WriteBatch(states=[state(st=0)], downtimes_removed=["a", "missing"]))
    snap = await store.load()
    assert snap.states[WEB].state == 0
    assert list(snap.downtimes) == ["b"]


async def test_history_filters_by_key_and_time_newest_first(store: Store) -> None:
    other = CheckKey("db1", "pg")
    evs = [event(1000.0 + i * 60, WEB if i % 2 else other) for i in range(10)]
    await store.write(WriteBatch(events=evs))
    web = await store.history(WEB, 1000.0, 1400.0, 100)
    assert [e.at for e in web] == [1300.0, 1180.0, 1060.0]
    assert [e.at for e in await store.history(None, 0, 10_000, 3)] == [1540.0, 1480.0, 1420.0]


async def test_last_results_ring_keeps_the_newest_n(db: Db) -> None:
    s = await db.open(results_per_check=3)
    try:
        await s.write(WriteBatch(results=[result(1000.0 + i) for i in range(5)]))
        await s.write(WriteBatch(results=[result(2000.0)]))
        got = await s.last_results(WEB, 10)
        assert [r.started_at for r in got] == [2000.0, 1004.0, 1003.0]
    finally:
        await s.close()


async def test_hostile_output_is_stored_safely(store: Store) -> None:
    nasty = "a\x00b \udcff <script>x</script> ünï 🚀" + "x" * 200_000
    res = dataclasses.replace(result(1000.0), output=nasty, long_output=nasty)
    st = dataclasses.replace(state(), output=nasty)
    await store.write(WriteBatch(states=[st], results=[res], events=[event(1.0)]))
    # the JSON copy keeps the state exactly; the result columns are cleaned and capped
    assert (await store.load()).states[WEB].output == nasty
    [got] = await store.last_results(WEB, 1)
    assert got.output.startswith("a\ufffdb ? <script>x</script> ünï 🚀")
    assert len(got.output) == 65536


async def test_migrations_are_idempotent(db: Db) -> None:
    s = await db.open()
    await s.write(WriteBatch(states=[state()]))
    await migrate(s.engine, db.schema)  # a second upgrade to head changes nothing
    assert await current_revision(s.engine) == head_revision()
    await s.close()
    s = await db.open()
    try:
        assert await current_revision(s.engine) == head_revision()
        assert list((await s.load()).states) == [WEB]
    finally:
        await s.close()


async def test_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    def diff(conn: sa.Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        return [d for d in compare_metadata(ctx, t.metadata) if "alembic_version" not in str(d)]

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_unknown_values_and_nan_perfdata_are_not_graphed(store: Store) -> None:
    res = dataclasses.replace(
        result(1000.0),
        perfdata=(PerfDatum("u", None), PerfDatum("nan", float("nan")), PerfDatum("ok", 2.0)),
    )
    await store.write(WriteBatch(results=[res]))
    assert await store.series_points(WEB, "u", 0, 2000, "raw") == []
    assert await store.series_points(WEB, "nan", 0, 2000, "raw") == []
    assert await store.series_points(WEB, "ok", 0, 2000, "raw") == [(1000.0, 2.0, 2.0, 2.0)]


async def test_a_big_batch_and_a_big_load_let_the_event_loop_run_and_keep_everything(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 checks at once (a second at 2,000 checks/s): their rows are built and their
    states decoded in slices, with the loop running in between (a check due meanwhile starts
    on time instead of after the whole batch), and nothing is lost or reordered by it."""
    keys = [CheckKey(f"h{i // 10:04d}", f"web{i % 10}") for i in range(2000)]
    results = _numbered_results(keys, 5000.0)
    states = [state(k, 0, output=f"ok {i}") for i, k in enumerate(keys)]
    made = 0  # state rows built and states decoded so far
    most = 0  # the most of them between two turns of the loop

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            nonlocal made
            made += 1
            return fn(*args)

        return call

    monkeypatch.setattr(codec, "state_row", counted(codec.state_row))
    monkeypatch.setattr(codec, "state_from", counted(codec.state_from))

    async def ticker() -> None:
        nonlocal most
        seen = made
        while True:
            await asyncio.sleep(0)
            most, seen = max(most, made - seen), made

    s = await db.open()
    tick = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0)  # the ticker runs from here on
        await s.write(WriteBatch(states=states, results=results))
        assert made == 2000 and most <= ROW_SLICE, most
        await s.write(WriteBatch(results=results[:1]))  # a second result of one check
        most = 0
        snap = await s.load()
        assert made == 4000 and most <= LOAD_SLICE, most
    finally:
        tick.cancel()
        await s.close()
    assert {k: st.output for k, st in snap.states.items()} == {
        k: f"ok {i}" for i, k in enumerate(keys)
    }
    assert [r.started_at for r in await _last_results(db, keys[0])] == [5000.0, 5000.0]
    assert [r.output for r in await _last_results(db, keys[-1])] == ["ok 1999"]
    s2 = await db.open()
    try:
        points = await s2.series_points(keys[-1], "size", 0, 10_000, resolution="raw")
    finally:
        await s2.close()
    assert [(p[0], p[1]) for p in points] == [(6999.0, 1999.0)]


def _numbered_results(keys: list[CheckKey], start: float) -> list[CheckResult]:
    """Result i: output "ok i", time i/1000 s and size i B, started at start + i."""
    return [
        CheckResult(
            key=k,
            status=0,
            output=f"ok {i}",
            perfdata=(PerfDatum("time", i / 1000, "s"), PerfDatum("size", float(i), "B")),
            started_at=start + i,
        )
        for i, k in enumerate(keys)
    ]


async def _last_results(db: Db, key: CheckKey) -> list[CheckResult]:
    s = await db.open()
    try:
        return await s.last_results(key, 10)
    finally:
        await s.close()


async def test_a_batch_with_one_check_twice_keeps_every_row_and_the_later_state(
    store: Store,
) -> None:
    """A merged batch may hold a check twice (two commits' worth of results in one): 257
    checks, one of them twice, lose no row and keep the batch's order (the later state wins,
    both results are in the ring, a point already there for that time stays)."""
    keys = [CheckKey(f"h{i:03d}", "web") for i in range(257)]
    results = _numbered_results(keys, 7000.0)
    again = dataclasses.replace(results[5], output="again", perfdata=(PerfDatum("size", -1.0),))
    states = [state(k, 0, output=f"ok {i}") for i, k in enumerate(keys)]
    await store.write(
        WriteBatch(states=[*states, state(keys[5], 2, output="later")], results=[*results, again])
    )
    snap = await store.load()
    assert {k: st.output for k, st in snap.states.items()} == {
        k: "later" if i == 5 else f"ok {i}" for i, k in enumerate(keys)
    }
    assert snap.states[keys[5]].state == 2
    for i in (0, 5, 99, 100, 199, 200, 256):
        size = await store.series_points(keys[i], "size", 0, 10_000, resolution="raw")
        assert [(p[0], p[1]) for p in size] == [(7000.0 + i, float(i))]
        time = await store.series_points(keys[i], "time", 0, 10_000, resolution="raw")
        assert [p[1] for p in time] == [i / 1000]
    assert [r.output for r in await store.last_results(keys[5], 10)] == ["again", "ok 5"]
    assert [r.output for r in await store.last_results(keys[256], 10)] == ["ok 256"]
