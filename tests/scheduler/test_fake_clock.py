"""FakeClock: deterministic time for anything that takes a Clock."""

from __future__ import annotations

import asyncio

import pytest
from fakeclock import FakeClock


async def test_advance_wakes_sleepers_in_deadline_order_at_their_deadline() -> None:
    clock = FakeClock(start_wall=100.0, start_mono=5.0)
    woke: list[tuple[str, float, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic(), clock.now()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 3.0), ("a", 1.0), ("b", 2.0)]]
    await clock.advance(2.5)
    assert woke == [("a", 6.0, 101.0), ("b", 7.0, 102.0)]
    assert (clock.monotonic(), clock.now(), clock.sleepers) == (7.5, 102.5, 1)
    await clock.advance(0.5)
    assert woke[-1] == ("c", 8.0, 103.0)
    await asyncio.gather(*tasks)


async def test_sleeps_started_during_advance_are_woken_within_it() -> None:
    clock = FakeClock()
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            await clock.sleep(1.0)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(ticker())
    await clock.advance(10.0)
    assert ticks == [1001.0, 1002.0, 1003.0, 1004.0, 1005.0]
    assert task.done()


async def test_jump_wall_moves_only_the_wall_clock() -> None:
    clock = FakeClock(start_wall=100.0, start_mono=5.0)
    clock.jump_wall(-50.0)
    assert (clock.now(), clock.monotonic()) == (50.0, 5.0)


async def test_cancelled_sleep_is_forgotten_and_bad_advance_rejected() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(1.0))
    await clock.settle()
    task.cancel()
    await clock.settle()
    assert clock.sleepers == 0 and clock.next_deadline() is None
    with pytest.raises(ValueError, match="seconds >= 0"):
        await clock.advance(-1.0)


async def test_endless_sleeping_loop_is_reported_not_hung() -> None:
    clock = FakeClock(max_wakeups=100)

    async def spinner() -> None:
        while True:
            await clock.sleep(0.001)

    task = asyncio.create_task(spinner())
    with pytest.raises(RuntimeError, match="too many wake-ups"):
        await clock.advance(10.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
