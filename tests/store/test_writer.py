"""The write-behind writer: merging, retries on a locked database, bounded queue, kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakeclock import FakeClock

from augenmass.core.clock import SystemClock
from augenmass.core.errors import StoreError
from augenmass.core.values import CheckKey
from augenmass.store import Store, StoreWriter, WriteBatch, open_store

from .conftest import Db
from .helpers import WEB, downtime, event, result, state

ROOT = Path(__file__).resolve().parents[2]


async def test_writer_merges_batches_and_resolves_futures(store: Store) -> None:
    writer = StoreWriter(store, SystemClock())
    await writer.start()
    futs = [
        writer.submit(WriteBatch(states=[state(st=i % 3)], results=[result(1000.0 + i)]))
        for i in range(50)
    ]
    futs.append(writer.submit(WriteBatch(downtimes_set=[downtime("x")])))
    futs.append(writer.submit(WriteBatch(downtimes_removed=["x"], events=[event(5.0)])))
    await asyncio.wait_for(asyncio.gather(*futs), 10)
    await writer.stop()
    snap = await store.load()
    assert snap.states[WEB].state == 49 % 3
    assert snap.downtimes == {}
    assert len(await store.last_results(WEB, 100)) == 20
    assert len(await store.series_points(WEB, "time", 0, 5000, "raw")) == 50
    stats = writer.stats
    assert stats.committed == 52 and stats.pending == 0 and not stats.degraded


async def test_locked_database_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = await open_store(str(path), busy_timeout_ms=50)
    writer = StoreWriter(store, SystemClock(), backoff_cap=0.2)
    await writer.start()
    locked = threading.Event()

    def hold_lock() -> None:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(1.0)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        await asyncio.to_thread(locked.wait, 5)
        futs = [writer.submit(WriteBatch(events=[event(float(i))])) for i in range(20)]
        await asyncio.sleep(0.5)
        assert writer.stats.degraded and "locked" in (writer.stats.last_error or "")
        await asyncio.wait_for(asyncio.gather(*futs), 10)
    finally:
        await asyncio.to_thread(holder.join)
    assert writer.stats.failures >= 1 and not writer.stats.degraded
    await writer.stop()
    assert len(await store.history(None, 0, 100, 100)) == 20
    await store.close()


async def test_full_queue_sheds_oldest_results_but_keeps_states(store: Store) -> None:
    writer = StoreWriter(store, SystemClock(), max_pending_results=10)
    keys = [CheckKey(f"h{i}") for i in range(5)]
    for i, k in enumerate(keys):
        results = [result(1000.0 + 10 * i + j, k) for j in range(5)]
        writer.submit(WriteBatch(states=[state(k)], results=results))
    assert writer.stats.dropped_results == 15
    await writer.start()
    await asyncio.wait_for(writer.flush(), 10)
    await writer.stop()
    assert set((await store.load()).states) == set(keys)
    assert await store.last_results(keys[0]) == []
    assert len(await store.last_results(keys[4])) == 5


async def test_invalid_batch_is_rejected_without_blocking_others(store: Store) -> None:
    writer = StoreWriter(store, SystemClock())
    good1 = writer.submit(WriteBatch(events=[event(1.0)]))
    bad = writer.submit(WriteBatch(states=[state(extra={"x": object()})]))
    good2 = writer.submit(WriteBatch(events=[event(2.0)]))
    await writer.start()
    await asyncio.wait_for(asyncio.gather(good1, good2), 10)
    with pytest.raises(StoreError):
        await bad
    await writer.stop()
    assert writer.stats.rejected == 1
    assert [e.at for e in await store.history(None, 0, 10, 10)] == [2.0, 1.0]


async def test_stop_flushes_what_is_queued(store: Store) -> None:
    writer = StoreWriter(store, SystemClock())
    await writer.start()
    writer.submit(WriteBatch(states=[state()]))
    await writer.stop()
    assert WEB in (await store.load()).states


@pytest.mark.slow
async def test_kill_9_keeps_every_committed_batch(db: Db) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'tests'}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "store.kill_child",
        db.url,
        db.schema or "",
        cwd=ROOT / "tests",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    committed: list[int] = []
    try:
        while len(committed) < 40:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            if not line:
                break
            committed.append(int(line))
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert len(committed) >= 40, "the child did not commit batches"
    store = await db.open()
    try:
        snap = await store.load()
        for i in committed:
            key = CheckKey(f"h{i}", "svc")
            assert snap.states[key].state == i % 4
            assert len(await store.history(key, 0, 1e12, 5)) == 1
            assert len(await store.last_results(key)) == 1
    finally:
        await store.close()


async def test_plain_results_wait_for_the_merge_window_but_an_urgent_batch_ends_it(
    store: Store,
) -> None:
    """Results share a transaction for up to `merge_window`; a batch someone waits for (state
    that must be durable before a notification) is committed at once, with what was queued."""
    writer = StoreWriter(store, SystemClock(), merge_window=60.0)
    await writer.start()
    try:
        plain = writer.submit(WriteBatch(results=[result(1000.0)]))
        await asyncio.sleep(0.3)
        assert not plain.done()  # still inside the 60 s window
        urgent = writer.submit(WriteBatch(states=[state(st=2)]), urgent=True)
        await asyncio.wait_for(asyncio.gather(plain, urgent), 10)  # far less than the window
    finally:
        await writer.stop()
    assert (await store.load()).states[WEB].state == 2


async def test_added_batches_share_one_item_and_each_counts(store: Store) -> None:
    """add(): batches nobody waits for; flush() still waits for them, and the counts stay
    per batch, not per merged transaction."""
    writer = StoreWriter(store, SystemClock(), merge_window=60.0)
    await writer.start()
    keys = [CheckKey(f"h{i}", "svc") for i in range(30)]
    for i, k in enumerate(keys):
        writer.add(WriteBatch(states=[state(k, st=i % 4)], results=[result(1000.0 + i, k)]))
    assert writer.backlog == 30 and writer.stats.pending_results == 30
    await asyncio.wait_for(writer.flush(), 10)  # far less than the merge window
    assert writer.stats.committed == 30 and writer.backlog == 0
    await writer.stop()
    snap = await store.load()
    assert [snap.states[k].state for k in keys] == [i % 4 for i in range(30)]
    assert [len(await store.last_results(k)) for k in keys] == [1] * 30


async def test_a_bad_added_batch_is_refused_alone(store: Store) -> None:
    writer = StoreWriter(store, SystemClock())
    keys = [CheckKey(f"h{i}", "svc") for i in range(5)]
    for k in keys[:2]:
        writer.add(WriteBatch(states=[state(k)], results=[result(1000.0, k)]))
    writer.add(WriteBatch(states=[state(keys[2], extra={"x": object()})]))
    for k in keys[3:]:
        writer.add(WriteBatch(states=[state(k)], results=[result(1000.0, k)]))
    await writer.start()
    await asyncio.wait_for(writer.flush(), 10)
    await writer.stop()
    assert writer.stats.rejected == 1 and writer.stats.committed == 4
    assert set((await store.load()).states) == {keys[0], keys[1], keys[3], keys[4]}


async def test_full_queue_sheds_whole_added_batches_oldest_first(store: Store) -> None:
    """As when each batch was queued on its own: the oldest batches lose their results, one
    batch at a time, until the queue is within its bound again."""
    writer = StoreWriter(store, SystemClock(), max_pending_results=10)
    keys = [CheckKey(f"h{i}") for i in range(5)]
    for i, k in enumerate(keys):
        results = [result(1000.0 + 10 * i + j, k) for j in range(3)]
        writer.add(WriteBatch(states=[state(k)], results=results))
    assert writer.stats.dropped_results == 6 and writer.stats.pending_results == 9
    await writer.start()
    await asyncio.wait_for(writer.flush(), 10)
    await writer.stop()
    assert set((await store.load()).states) == set(keys)
    assert [len(await store.last_results(k)) for k in keys] == [0, 0, 3, 3, 3]


async def test_a_busy_writer_commits_every_merge_window_counted_from_the_last_commits_start(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that takes most of the window (5,000 results on a busy box) must not add its
    own time to the cycle: the next one starts a window after it STARTED, not after it ended
    (a 1.7 s cycle capped the store at 2,900 results a second)."""
    clock = FakeClock()
    starts: list[float] = []
    real_write = store.write

    async def slow_write(batch: WriteBatch) -> None:
        starts.append(clock.monotonic())
        await clock.sleep(0.7)  # the commit's own time
        await real_write(batch)

    monkeypatch.setattr(store, "write", slow_write)
    writer = StoreWriter(store, clock, merge_window=1.0)
    await writer.start()
    try:
        begun = clock.monotonic()
        writer.add(WriteBatch(results=[result(1000.0)]))
        await clock.advance(1.0)  # the first window: plain results wait for it
        writer.add(WriteBatch(results=[result(1001.0)]))  # arrives during the commit
        await clock.advance(0.7)  # the first commit's time is over ...
        await _until(lambda: writer.stats.committed == 1)  # ... and its rows are in
        await clock.advance(0.3)  # a window after the first commit began
        await _until(lambda: len(starts) == 2)
        await clock.advance(0.7)
        await _until(lambda: writer.stats.committed == 2)
        assert [round(t - begun, 3) for t in starts] == [1.0, 2.0]
    finally:
        await writer.stop()
    assert [r.started_at for r in await store.last_results(WEB)] == [1001.0, 1000.0]


async def _until(condition: Callable[[], bool], bound: float = 10.0) -> None:
    """Real time passes for the database; the writer's clock does not move meanwhile."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _gated(store: Store, monkeypatch: pytest.MonkeyPatch) -> asyncio.Queue[None]:
    """The store commits one batch per permit put into the returned queue."""
    permits: asyncio.Queue[None] = asyncio.Queue()
    real_write = store.write

    async def gated_write(batch: WriteBatch) -> None:
        await permits.get()
        await real_write(batch)

    monkeypatch.setattr(store, "write", gated_write)
    return permits


async def test_wait_below_ends_when_one_commit_brings_the_backlog_under_the_bound(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backpressure of an overloaded server: a check held for the store goes on once the
    backlog is under the bound again, not once ALL of it is written (flush): that made every
    check stop and go together."""
    permits = _gated(store, monkeypatch)
    writer = StoreWriter(store, SystemClock(), merge_window=0.01, max_batch_results=10)
    keys = [CheckKey(f"h{i}", "svc") for i in range(35)]
    for i, k in enumerate(keys):
        writer.add(WriteBatch(states=[state(k)], results=[result(1000.0 + i, k)]))
    await writer.start()
    try:
        await asyncio.wait_for(writer.wait_below(35), 1)  # under the bound already: no wait
        held = asyncio.create_task(writer.wait_below(25))
        everything = asyncio.create_task(writer.flush())
        await _until(lambda: writer.stats.pending_results == 25)  # 10 taken, not committed
        await asyncio.sleep(0.2)
        assert not held.done()
        permits.put_nowait(None)  # one commit of 10
        await asyncio.wait_for(held, 10)
        assert writer.stats.committed == 10 and writer.backlog == 25
        assert not everything.done()  # what flush() would still be waiting for
        for _ in range(3):
            permits.put_nowait(None)
        await asyncio.wait_for(everything, 10)
    finally:
        for _ in range(5):
            permits.put_nowait(None)
        await writer.stop()
    assert set((await store.load()).states) == set(keys)


async def test_wait_below_holds_nobody_while_the_store_fails(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk must not stop the checks: a check held for the backlog goes on as soon as
    the store fails, and what waits is written once it works again."""
    failing = True
    real_write = store.write

    async def full_disk(batch: WriteBatch) -> None:
        if failing:
            raise OSError(28, "No space left on device")
        await real_write(batch)

    monkeypatch.setattr(store, "write", full_disk)
    writer = StoreWriter(store, SystemClock(), merge_window=0.01, backoff_cap=0.1)
    keys = [CheckKey(f"h{i}", "svc") for i in range(30)]
    for k in keys:
        writer.add(WriteBatch(states=[state(k)], results=[result(1000.0, k)]))
    await writer.start()
    try:
        await asyncio.wait_for(writer.wait_below(5), 10)
        assert writer.stats.degraded and writer.backlog == 30
        await asyncio.wait_for(writer.wait_below(5), 1)  # still failing: returns at once
        failing = False
        await asyncio.wait_for(writer.flush(), 10)
    finally:
        await writer.stop()
    assert not writer.stats.degraded
    assert set((await store.load()).states) == set(keys)
