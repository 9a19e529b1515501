"""Write-behind: one task commits queued batches, merged, and retries failures forever.

A failure to store never reaches the check path (reliability.md §37, Uptime Kuma #7338): submit()
never raises, and callers await the returned Future only when they need durability first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

import sqlalchemy as sa

from augenmass.clock import Clock
from augenmass.errors import StoreError
from augenmass.store.batch import WriteBatch, merge_batches
from augenmass.store.store import Store

log = logging.getLogger("augenmass.store")

# Errors about the data itself: retrying the same rows cannot help.
_PERMANENT = (sa.exc.IntegrityError, sa.exc.DataError, ValueError, TypeError)


def _is_permanent(exc: Exception) -> bool:
    # A bare StatementError wraps a failure to convert a parameter (not a DBAPI error).
    return isinstance(exc, _PERMANENT) or type(exc) is sa.exc.StatementError


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
        self._queue: deque[tuple[WriteBatch, asyncio.Future[None]]] = deque()
        self._pending_results = 0
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last: asyncio.Future[None] | None = None
        self._failures = 0
        self._degraded = False
        self._last_error: str | None = None
        self._committed = 0
        self._dropped = 0
        self._rejected = 0

    @property
    def stats(self) -> WriterStats:
        return WriterStats(
            pending=len(self._queue) + self._in_flight,
            pending_results=self._pending_results,
            failures=self._failures,
            degraded=self._degraded,
            last_error=self._last_error,
            committed=self._committed,
            dropped_results=self._dropped,
            rejected=self._rejected,
        )

    @property
    def backlog(self) -> int:
        """Batches queued and not yet committed (cheap; read on every result)."""
        return len(self._queue) + self._in_flight

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="augenmass-store-writer")

    def submit(self, batch: WriteBatch, urgent: bool = False) -> asyncio.Future[None]:
        """Queue a batch; the Future resolves once it is committed. Never raises.

        An urgent batch (someone waits for it, e.g. before notifying) ends the merge window
        early; plain results wait for it so that many share one transaction."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((batch, fut))
        self._last = fut
        self._pending_results += len(batch.results)
        if self._pending_results > self._max_pending:
            self._shed()
        if urgent:
            self._urgent.set()
        self._wake.set()
        return fut

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        last = self._last
        if last is not None and not last.done():
            self._urgent.set()  # someone waits: no merge window
            # Batches commit in order: once the newest is done, so are all before it.
            with contextlib.suppress(StoreError):
                await asyncio.shield(last)

    async def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued (waiting at most `timeout`), then end the task."""
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.error("store writer stopped with %d batch(es) not committed", self.stats.pending)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._queue:
            _, fut = self._queue.popleft()
            _fail(fut, StoreError("the store writer stopped before this batch was committed"))

    def _shed(self) -> None:
        """Drop results of the oldest queued batches until under the bound. States, events and
        downtimes are never dropped: they are small and they are what a restart needs."""
        for i, (batch, fut) in enumerate(self._queue):
            if self._pending_results <= self._max_pending:
                break
            if batch.results:
                n = len(batch.results)
                self._queue[i] = (
                    WriteBatch(
                        batch.states, batch.downtimes_set, batch.downtimes_removed, batch.events, []
                    ),
                    fut,
                )
                self._pending_results -= n
                self._dropped += n
        if self._dropped:
            log.warning("store queue full: %d result(s) dropped so far", self._dropped)

    def _take(self) -> list[tuple[WriteBatch, asyncio.Future[None]]]:
        taken: list[tuple[WriteBatch, asyncio.Future[None]]] = []
        count = 0
        while self._queue and (
            not taken or count + len(self._queue[0][0].results) <= self._max_batch
        ):
            item = self._queue.popleft()
            count += len(item[0].results)
            taken.append(item)
        self._pending_results -= count
        self._in_flight = len(taken)
        return taken

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if self._pending_results < self._max_batch and not self._urgent.is_set():
                await self._merge_wait()  # let more batches arrive, merge them
            self._urgent.clear()
            items = self._take()
            try:
                await self._commit(items)
            finally:
                self._in_flight = 0

    async def _merge_wait(self) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(self._window))
        urgent = asyncio.ensure_future(self._urgent.wait())
        try:
            await asyncio.wait((sleeper, urgent), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, urgent):
                task.cancel()
            await asyncio.gather(sleeper, urgent, return_exceptions=True)

    async def _commit(self, items: list[tuple[WriteBatch, asyncio.Future[None]]]) -> None:
        merged = merge_batches(b for b, _ in items)
        delay = 0.05
        while True:
            try:
                await self._store.write(merged)
                break
            except Exception as exc:  # any failure: keep the data and retry, unless it is bad
                if _is_permanent(exc):
                    await self._reject(items, exc)
                    return
                self._note_failure(exc)
                await self._clock.sleep(delay)
                delay = min(self._backoff_cap, delay * 2)
        if self._degraded:
            log.warning("store writes work again after %d failed attempt(s)", self._failures)
        self._degraded = False
        self._committed += len(items)
        for _, fut in items:
            if not fut.done():
                fut.set_result(None)

    async def _reject(
        self, items: list[tuple[WriteBatch, asyncio.Future[None]]], exc: Exception
    ) -> None:
        if len(items) > 1:
            # Find the bad batch: commit the others one by one.
            for item in items:
                await self._commit([item])
            return
        self._rejected += 1
        log.error("store refused a batch as invalid, it is dropped: %s", _short(exc))
        _fail(items[0][1], StoreError(f"the store refused this batch: {_short(exc)}"))

    def _note_failure(self, exc: Exception) -> None:
        self._failures += 1
        self._last_error = _short(exc)
        if not self._degraded:
            log.error("store write failed, retrying until it works: %s", self._last_error)
        self._degraded = True


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


def _fail(fut: asyncio.Future[None], exc: Exception) -> None:
    if not fut.done():
        fut.set_exception(exc)
        fut.exception()  # mark retrieved: nobody may be awaiting this Future
