"""When checks run: intervals, retry intervals, first-check spread, re-check now, clock jumps."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fakeclock import FakeClock
from sched_helpers import Harness, MakeHarness, jobs_of, template

from augenmass.core.values import CheckKey

T0 = 1_000.0  # FakeClock start_mono in conftest
W0 = 1_700_000_000.0


async def test_checks_run_every_interval_on_their_phase(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=10.0)
    # start-based: the run time must not shift the phase
    harness = await make_harness(jobs_of([job]), max_spread=0.0, run_time=3.0)
    await clock.advance(35.0)
    assert harness.starts_of(job.key) == [T0, T0 + 10, T0 + 20, T0 + 30]
    assert [j.due_at for _, j in harness.starts] == [W0, W0 + 10, W0 + 20, W0 + 30]
    assert harness.sched.next_check(job.key) == W0 + 40


async def test_retry_interval_returned_by_on_result_is_used(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=60.0)
    harness = Harness(clock, max_spread=0.0)
    harness.intervals[job.key] = [5.0, 5.0, None]  # two SOFT retries, then back to normal
    harness.sched.set_jobs(jobs_of([job]))
    harness.start()
    try:
        await clock.advance(100.0)
    finally:
        await harness.stop()
    assert harness.starts_of(job.key) == [T0, T0 + 5, T0 + 10, T0 + 70]


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf"), "10", True])
async def test_unusable_interval_from_on_result_falls_back_to_template(
    clock: FakeClock, bad: Any
) -> None:
    job = template("a", interval=20.0)
    harness = Harness(clock, max_spread=0.0)
    harness.intervals[job.key] = [bad]
    harness.sched.set_jobs(jobs_of([job]))
    harness.start()
    try:
        await clock.advance(25.0)
    finally:
        await harness.stop()
    assert harness.starts_of(job.key) == [T0, T0 + 20]


async def test_first_checks_are_spread_over_the_spread_window(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    short = [template(f"s{i}", interval=30.0) for i in range(100)]  # window = interval (30)
    long = [template(f"l{i}", interval=300.0) for i in range(100)]  # window = max_spread (45)
    harness = await make_harness(jobs_of(short + long), max_spread=45.0)
    await clock.advance(29.999)
    firsts_short = [harness.starts_of(t.key)[0] - T0 for t in short]
    assert all(0.0 <= d < 30.0 for d in firsts_short)
    await clock.advance(20.0)
    firsts_long = [harness.starts_of(t.key)[0] - T0 for t in long]
    assert all(0.0 <= d < 45.0 for d in firsts_long)
    for firsts in (firsts_short, firsts_long):
        assert len(set(firsts)) > 90  # not all at once
        assert min(firsts) < 10.0 and max(firsts) > 20.0  # really spread across the window


async def test_spread_is_reproducible_with_a_seeded_rng(clock: FakeClock) -> None:
    jobs = jobs_of(template(f"s{i}", interval=60.0) for i in range(20))
    plans = []
    for _ in range(2):
        harness = Harness(clock, rng=random.Random(42))
        harness.sched.set_jobs(jobs)
        plans.append([harness.sched.next_check(k) for k in jobs])
    assert plans[0] == plans[1]


async def test_check_now_runs_at_once_and_keeps_start_based_schedule(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=300.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    await clock.advance(10.0)
    assert harness.sched.check_now(job.key) is True
    await clock.settle()
    assert harness.starts_of(job.key) == [T0, T0 + 10]
    assert harness.sched.next_check(job.key) == W0 + 310
    assert harness.sched.check_now(CheckKey("h", "nope")) is False  # no such job: nothing runs
    await clock.settle()
    assert len(harness.starts) == 2


async def test_check_now_while_running_does_not_run_twice(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=300.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0, run_time=5.0)
    assert harness.sched.check_now(job.key) is False  # running: its result is the re-check
    await clock.advance(10.0)
    assert harness.starts_of(job.key) == [T0]
    assert harness.max_in_flight == 1


@pytest.mark.parametrize("jump", [3600.0, -7200.0])
async def test_wall_clock_jump_causes_no_burst_and_no_stall(
    clock: FakeClock, make_harness: MakeHarness, jump: float
) -> None:
    jobs = [template(f"s{i}", interval=10.0) for i in range(5)]
    harness = await make_harness(jobs_of(jobs), max_spread=10.0)
    await clock.advance(20.0)
    before = len(harness.starts)
    clock.jump_wall(jump)
    await clock.advance(10.0)
    assert len(harness.starts) - before == 5  # one run per key per interval
    await clock.advance(10.0)
    assert len(harness.starts) - before == 10
    last = harness.starts[-1][1]
    assert abs(last.due_at - (clock.now() - 10.0)) <= 10.0  # due_at follows the new wall clock


async def test_coalescing_adds_bounded_lateness_that_does_not_add_up(clock: FakeClock) -> None:
    jobs = [template(n, interval=10.0) for n in ("a", "b", "c")]
    harness = Harness(clock, max_spread=0.0, coalesce=0.05)
    harness.sched.set_jobs(jobs_of(jobs))
    harness.start()
    try:
        await clock.advance(40.1)
    finally:
        await harness.stop()
    for job in jobs:
        lateness = [s - T0 - 10 * i for i, s in enumerate(harness.starts_of(job.key))]
        # due at T0, T0+10, ...: started at most 50 ms late, and the phase does not drift
        assert len(lateness) == 5
        assert all(0 <= late <= 0.05 + 1e-9 for late in lateness), lateness


@pytest.mark.parametrize(
    ("services", "interval", "window"),
    [(3, 10.0, 0.05), (100, 1.0, 0.05), (1000, 10.0, 0.05), (1000, 1.0, 0.02)],
)
async def test_the_coalescing_window_widens_only_at_low_rates(
    clock: FakeClock, services: int, interval: float, window: float
) -> None:
    """8 checks per wake-up: 100 checks/s get a 50 ms window, 1,000/s keep 20 ms."""
    jobs = [template(f"s{i}", interval=interval) for i in range(services)]
    harness = Harness(clock, max_spread=0.0, coalesce=0.02, coalesce_max=0.05)
    harness.sched.set_jobs(jobs_of(jobs))
    harness.start()
    try:
        await clock.advance(interval * 3 + 0.5)
    finally:
        await harness.stop()
    lateness = [s - T0 - interval * round((s - T0) / interval) for s, _ in harness.starts]
    assert len(lateness) == services * 4
    assert all(0 <= late <= window + 1e-9 for late in lateness)
    assert max(lateness) >= window - 1e-9  # the whole window is used: that is the batching
