"""Public test doubles. `FakeClock` drives anything that takes a `Clock` without real sleeping."""

from __future__ import annotations

import asyncio
import heapq
import itertools

_Sleeper = tuple[float, int, "asyncio.Future[None]"]


class FakeClock:
    """A deterministic Clock: time moves only through `advance()` (and `jump_wall()`).

    `advance(s)` wakes sleepers in deadline order (ties in the order they went to sleep), moving
    the clock to each deadline in turn, and after each wake yields `settle_rounds` times to the
    event loop so woken tasks run until they block again.
    """

    def __init__(
        self,
        start_wall: float = 1_700_000_000.0,
        start_mono: float = 1_000.0,
        settle_rounds: int = 50,
        max_wakeups: int = 1_000_000,
    ) -> None:
        self._wall = start_wall
        self._mono = start_mono
        self._settle_rounds = settle_rounds
        self._max_wakeups = max_wakeups  # bounds advance() against tasks sleeping in a tight loop
        self._sleepers: list[_Sleeper] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if not seconds > 0:  # also NaN: behave like asyncio.sleep(0)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move both clocks forward by `seconds`, waking every sleeper whose deadline passes."""
        if not seconds >= 0:
            raise ValueError(f"FakeClock.advance() needs seconds >= 0, got {seconds!r}")
        target = self._mono + seconds
        await self.settle()
        for _ in range(self._max_wakeups):
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            self._move_to(deadline)
            self._wake_until(deadline)
            await self.settle()
        else:
            raise RuntimeError("FakeClock.advance(): too many wake-ups; a task sleeps in a loop")
        self._move_to(target)
        await self.settle()

    def jump_wall(self, seconds: float) -> None:
        """Step only the wall clock (NTP step, DST mistake); monotonic time is unaffected."""
        self._wall += seconds

    async def settle(self) -> None:
        """Let ready tasks run until they block (a fixed number of loop turns: deterministic)."""
        for _ in range(self._settle_rounds):
            await asyncio.sleep(0)

    def next_deadline(self) -> float | None:
        """The earliest monotonic deadline of a pending sleeper."""
        sleepers = self._sleepers
        while sleepers and sleepers[0][2].done():  # cancelled sleeps
            heapq.heappop(sleepers)
        return sleepers[0][0] if sleepers else None

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock now."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def _move_to(self, mono: float) -> None:
        if mono > self._mono:
            self._wall += mono - self._mono
            self._mono = mono

    def _wake_until(self, deadline: float) -> None:
        sleepers = self._sleepers
        while sleepers and sleepers[0][0] <= deadline:
            _, _, future = heapq.heappop(sleepers)
            if not future.done():
                future.set_result(None)
