"""Write-behind: one task commits queued batches, merged, and retries failures forever.

A failure to store never reaches the check path (reliability.md §37, Uptime Kuma #7338): submit()
never raises, and callers await the returned Future only when they need durability first.

While the store fails (a full disk), whatever waits is compacted into ONE batch at every retry:
the newest state per check, downtimes, events and notification rows in order, results up to a
bound. Memory stays bounded by the number of checks plus the caps below, and what had to be
dropped is counted and said (a log line a minute, the health answer), never silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

import sqlalchemy as sa

from augenmass.core.clock import Clock
from augenmass.core.errors import StoreError
from augenmass.store.batch import WriteBatch, merge_batches
from augenmass.store.lease import Fenced
from augenmass.store.store import Store

log = logging.getLogger("augenmass.store")

# Caps of what a failing store keeps waiting (states are one per check and never dropped;
# notification rows are never dropped either: they are what the whole server is for).
MAX_PENDING_EVENTS = 100_000  # history events beyond it: the oldest go first
DEGRADED_LOG_EVERY = 60.0  # seconds between two "still failing" lines

# Errors about the data itself: retrying the same rows cannot help.
_PERMANENT = (sa.exc.IntegrityError, sa.exc.DataError, ValueError, TypeError)


def _is_permanent(exc: Exception) -> bool:
    # A bare StatementError wraps a failure to convert a parameter (not a DBAPI error).
    return isinstance(exc, _PERMANENT) or type(exc) is sa.exc.StatementError


class _Item:
    """A queued batch, and the Future of whoever waits for its commit (None: nobody yet).

    Batches nobody waits for that hold only states and results are appended to the newest
    such item (add()): one batch per merge window instead of seven objects per check for the
    garbage collector to walk. `state_ends`/`result_ends` record where each of them ends, so
    the writer still sheds and refuses whole batches, never parts of one.
    """

    __slots__ = ("batch", "fut", "state_ends", "result_ends", "compacted")

    def __init__(
        self, batch: WriteBatch, fut: asyncio.Future[None] | None, mergeable: bool = False
    ) -> None:
        self.batch = batch
        self.fut = fut
        self.state_ends: list[int] | None = [len(batch.states)] if mergeable else None
        self.result_ends: list[int] | None = [len(batch.results)] if mergeable else None
        self.compacted = 0  # > 0: this many batches compacted into one while the store failed

    @property
    def parts(self) -> int:
        """How many submitted batches this is."""
        if self.compacted:
            return self.compacted
        return 1 if self.result_ends is None else len(self.result_ends)

    def split(self) -> list[_Item]:
        """The submitted batches, each as its own item."""
        if self.state_ends is None or self.result_ends is None:
            return [self]
        b, s0, r0 = self.batch, 0, 0
        out: list[_Item] = []
        for s1, r1 in zip(self.state_ends, self.result_ends, strict=True):
            out.append(_Item(WriteBatch(states=b.states[s0:s1], results=b.results[r0:r1]), None))
            s0, r0 = s1, r1
        return out


@dataclass(frozen=True, slots=True)
class WriterStats:
    pending: int  # batches queued or being written
    pending_results: int
    failures: int  # failed commit attempts since start
    degraded: bool  # the last commit attempt failed
    last_error: str | None
    committed: int  # batches committed
    dropped_results: int  # perfdata/results shed because the queue was full
    rejected: int  # batches refused by the database as invalid (logged, not retried)
    dropped_events: int = 0  # history events shed while the store failed for long
    waiting: dict[str, int] | None = None  # what waits for the store now, by kind
    failing_since: float | None = None  # on the writer's clock, when the store began to fail


class StoreWriter:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        merge_window: float = 0.05,
        max_batch_results: int = 2000,
        max_pending_results: int = 100_000,
        backoff_cap: float = 5.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._window = merge_window
        self._max_batch = max_batch_results
        self._max_pending = max_pending_results
        self._backoff_cap = backoff_cap
        self._queue: deque[_Item] = deque()
        self._taken: list[_Item] = []  # the batches being committed now
        self._pending_results = 0
        self._queued = 0  # batches in the queue (an item may hold several)
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._degraded = False
        self._last_error: str | None = None
        self._committed = 0
        self._dropped = 0
        self._dropped_events = 0
        self._rejected = 0
        self._failing_since: float | None = None
        self._last_said = 0.0
        # wait_below() callers: woken after every commit attempt, and when the store fails
        self._below: list[asyncio.Future[None]] = []

    @property
    def stats(self) -> WriterStats:
        return WriterStats(
            pending=self._queued + self._in_flight,
            pending_results=self._pending_results,
            failures=self._failures,
            degraded=self._degraded,
            last_error=self._last_error,
            committed=self._committed,
            dropped_results=self._dropped,
            rejected=self._rejected,
            dropped_events=self._dropped_events,
            waiting=self.waiting() if self._degraded else None,
            failing_since=self._failing_since,
        )

    def waiting(self) -> dict[str, int]:
        """What is not committed yet, by kind (a walk over the queue: for reports, not per
        result)."""
        counts = {"states": 0, "events": 0, "notifications": 0, "results": 0, "downtimes": 0}
        for item in (*self._taken, *self._queue):
            b = item.batch
            counts["states"] += len(b.states)
            counts["events"] += len(b.events)
            counts["notifications"] += sum(len(q.items) for q in b.notifications)
            counts["results"] += len(b.results)
            counts["downtimes"] += len(b.downtimes_set) + len(b.downtimes_removed)
        return counts

    @property
    def degraded(self) -> bool:
        """The last commit attempt failed (cheap: read on every result)."""
        return self._degraded

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def backlog(self) -> int:
        """Batches queued and not yet committed (cheap; read on every result)."""
        return self._queued + self._in_flight

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="augenmass-store-writer")

    def submit(self, batch: WriteBatch, urgent: bool = False) -> asyncio.Future[None]:
        """Queue a batch; the Future resolves once it is committed. Never raises.

        An urgent batch (someone waits for it, e.g. before notifying) ends the merge window
        early; plain results wait for it so that many share one transaction."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._put(_Item(batch, fut), urgent)
        return fut

    def add(self, batch: WriteBatch) -> None:
        """Queue a batch nobody waits for (plain results): submit() without the Future, which
        at thousands of results a second was a cost of its own. flush() covers it too."""
        if batch.downtimes_set or batch.downtimes_removed or batch.events or batch.notifications:
            self._put(_Item(batch, None), False)  # rare: kept apart, as submitted
            return
        tail = self._queue[-1] if self._queue else None
        if (
            tail is None
            or tail.fut is not None
            or tail.state_ends is None
            or tail.result_ends is None
            or len(tail.batch.results) + len(batch.results) > self._max_batch
        ):
            # a new item of our own, as its lists grow
            own = WriteBatch(states=list(batch.states), results=list(batch.results))
            self._put(_Item(own, None, mergeable=True), False)
            return
        tail.batch.states += batch.states
        tail.batch.results += batch.results
        tail.state_ends.append(len(tail.batch.states))
        tail.result_ends.append(len(tail.batch.results))
        self._queued += 1
        self._pending_results += len(batch.results)
        if self._pending_results > self._max_pending:
            self._shed()
        self._wake.set()

    def _put(self, item: _Item, urgent: bool) -> None:
        self._queue.append(item)
        self._queued += 1
        self._pending_results += len(item.batch.results)
        if self._pending_results > self._max_pending:
            self._shed()
        if urgent:
            self._urgent.set()
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        # Batches commit in order: once the newest is done, so are all before it.
        if self._queue:
            newest = self._queue[-1]
        elif self._taken:
            newest = self._taken[-1]
        else:
            return
        if newest.fut is None:
            newest.fut = asyncio.get_running_loop().create_future()
        elif newest.fut.done():
            return
        self._urgent.set()  # someone waits: no merge window
        with contextlib.suppress(StoreError):
            await asyncio.shield(newest.fut)

    async def wait_below(self, limit: int) -> None:
        """Wait until at most `limit` batches wait for the store, or it fails (then nobody
        should wait: the writer compacts what waits and the checks go on). The backpressure
        of an overloaded server: its checks slow to the store's pace a commit at a time.
        Waiting for all of it (flush()) made them stop and go: every check that ended in a
        1.6 s commit held its slot, the slots ran out, then 1,500 started at once, and both
        processes slept 40 % of the time (bench/RESULTS.md)."""
        while self.backlog > limit and not self._degraded and self._task is not None:
            fut = asyncio.get_running_loop().create_future()
            self._below.append(fut)
            await fut

    def _wake_below(self) -> None:
        waiting, self._below = self._below, []
        for fut in waiting:
            if not fut.done():
                fut.set_result(None)

    async def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued (waiting at most `timeout`), then end the task."""
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            lost = self.waiting()
            log.error(
                "STOPPED WITH DATA NOT WRITTEN to the store: %s",
                ", ".join(f"{n} {kind}" for kind, n in lost.items() if n) or "nothing",
                extra=lost,
            )
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._wake_below()
        while self._queue:
            item = self._queue.popleft()
            _fail(item, StoreError("the store writer stopped before this batch was committed"))

    def _shed(self) -> None:
        """Drop results of the oldest queued batches until under the bound. States, events and
        downtimes are never dropped: they are small and they are what a restart needs."""
        for item in self._queue:
            excess = self._pending_results - self._max_pending
            if excess <= 0:
                break
            batch = item.batch
            if not batch.results:
                continue
            drop = len(batch.results)
            if item.result_ends is not None:
                # merged batches: those up to the first whose end covers the excess
                drop = next((end for end in item.result_ends if end >= excess), drop)
                item.result_ends = [max(0, end - drop) for end in item.result_ends]
            item.batch = WriteBatch(
                batch.states,
                batch.downtimes_set,
                batch.downtimes_removed,
                batch.events,
                batch.results[drop:],
                batch.notifications,
            )
            self._pending_results -= drop
            self._dropped += drop
        if self._dropped:
            log.warning("store queue full: %d result(s) dropped so far", self._dropped)

    def _take(self) -> list[_Item]:
        taken: list[_Item] = []
        count = 0
        while self._queue and (
            not taken or count + len(self._queue[0].batch.results) <= self._max_batch
        ):
            item = self._queue.popleft()
            count += len(item.batch.results)
            taken.append(item)
        parts = sum(item.parts for item in taken)
        self._pending_results -= count
        self._queued -= parts
        self._in_flight = parts
        self._taken = taken
        return taken

    async def _run(self) -> None:
        began = self._clock.monotonic()  # when the last commit began (or the writer)
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                began = self._clock.monotonic()  # idle until now: the window opens here
            if self._pending_results < self._max_batch and not self._urgent.is_set():
                # Let more batches arrive and merge them: a commit every `merge_window` at
                # most, counted from the last one's start (or from the first batch after an
                # idle time). Counted from its end, a commit that took 0.7 s (5,000 results on
                # a busy box) made a 1.7 s cycle: the store took 2,900 results a second,
                # whatever the machine had left, and the checks waited for it.
                left = self._window - (self._clock.monotonic() - began)
                if left > 0:
                    await self._merge_wait(left)
            self._urgent.clear()
            began = self._clock.monotonic()
            items = self._take()
            try:
                await self._commit(items)
            finally:
                self._in_flight = 0
                self._taken = []
                self._wake_below()

    async def _merge_wait(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        urgent = asyncio.ensure_future(self._urgent.wait())
        try:
            await asyncio.wait((sleeper, urgent), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, urgent):
                task.cancel()
            await asyncio.gather(sleeper, urgent, return_exceptions=True)

    async def _commit(self, items: list[_Item]) -> None:
        merged = merge_batches(item.batch for item in items)
        delay = 0.05
        while True:
            try:
                await self._store.write(merged)
                break
            except Exception as exc:  # any failure: keep the data and retry, unless it is bad
                if isinstance(exc, Fenced):
                    # Another server holds the lease: what this one computed is not the truth
                    # any more (the active one checks again), so it is dropped, not retried.
                    self._rejected += len(items)
                    log.warning("store write refused: %s; dropped", exc)
                    for item in items:
                        _fail(item, exc)
                    return
                if _is_permanent(exc):
                    await self._reject(items, exc)
                    return
                self._note_failure(exc)
                await self._clock.sleep(delay)
                delay = min(self._backoff_cap, delay * 2)
                # what came meanwhile joins the retry, compacted: bounded memory, one commit
                items = self._compact(items)
                merged = items[0].batch
        if self._degraded:
            log.warning(
                "store writes work again after %d failed attempt(s)",
                self._failures,
                extra={"failed_for": round(self._clock.monotonic() - (self._failing_since or 0))},
            )
        self._degraded = False
        self._failing_since = None
        self._committed += sum(item.parts for item in items)
        for item in items:
            if item.fut is not None and not item.fut.done():
                item.fut.set_result(None)

    def _compact(self, items: list[_Item]) -> list[_Item]:
        """The taken items and the whole queue as ONE item (its Future settles all theirs)."""
        every = [*items, *self._queue]
        parts = sum(item.parts for item in every)
        self._queue.clear()
        self._queued = 0
        self._pending_results = 0
        merged = merge_batches(item.batch for item in every)
        if len(merged.results) > self._max_pending:
            drop = len(merged.results) - self._max_pending
            del merged.results[:drop]  # the oldest go: the newest say what is true now
            self._dropped += drop
        if len(merged.events) > MAX_PENDING_EVENTS:
            # history only (state changes are in the states); notifications stay in their rows
            drop = len(merged.events) - MAX_PENDING_EVENTS
            del merged.events[:drop]
            self._dropped_events += drop
        fut: asyncio.Future[None] | None = None
        waiters = [item.fut for item in every if item.fut is not None]
        if waiters:
            fut = asyncio.get_running_loop().create_future()
            fut.add_done_callback(lambda done: _settle(done, waiters))
        one = _Item(merged, fut)
        one.compacted = parts
        self._in_flight = parts
        self._taken = [one]
        self._say_degraded()
        return [one]

    def _say_degraded(self) -> None:
        """Once a minute while the store fails: what waits and what was dropped."""
        now = self._clock.monotonic()
        if now - self._last_said < DEGRADED_LOG_EVERY:
            return
        self._last_said = now
        waiting = self.waiting()
        log.error(
            "STORE STILL FAILING for %d s: %s wait in memory; dropped so far: %d results, "
            "%d events; last error: %s",
            now - (self._failing_since or now),
            ", ".join(f"{n} {kind}" for kind, n in waiting.items() if n) or "nothing",
            self._dropped,
            self._dropped_events,
            self._last_error,
            extra={"waiting": waiting},
        )

    async def _reject(self, items: list[_Item], exc: Exception) -> None:
        if len(items) > 1 or (items[0].parts > 1 and not items[0].compacted):
            # Find the bad batch: commit the others one by one.
            for item in items:
                for one in item.split():
                    await self._commit([one])
                if item.fut is not None and not item.fut.done():
                    item.fut.set_result(None)  # a flush() waits for it: all is done now
            return
        self._rejected += 1
        b = items[0].batch
        log.error(
            "store refused a batch as invalid, it is dropped: %s",
            _short(exc),
            extra={
                "states": len(b.states),
                "events": len(b.events),
                "notifications": sum(len(q.items) for q in b.notifications),
                "results": len(b.results),
            },
        )
        _fail(items[0], StoreError(f"the store refused this batch: {_short(exc)}"))

    def _note_failure(self, exc: Exception) -> None:
        self._failures += 1
        self._last_error = _short(exc)
        if not self._degraded:
            log.error("store write failed, retrying until it works: %s", self._last_error)
            self._failing_since = self._clock.monotonic()
            self._last_said = self._failing_since
        self._degraded = True
        self._wake_below()  # nobody waits for a failing store


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _settle(done: asyncio.Future[None], waiters: list[asyncio.Future[None]]) -> None:
    """Pass the outcome of a compacted commit on to everyone who waited for a part of it."""
    exc = None if done.cancelled() else done.exception()
    for fut in waiters:
        if fut.done():
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)
            fut.exception()  # retrieved: nobody may be awaiting this one


def _fail(item: _Item, exc: Exception) -> None:
    fut = item.fut
    if fut is not None and not fut.done():
        fut.set_exception(exc)
        fut.exception()  # mark retrieved: nobody may be awaiting this Future
