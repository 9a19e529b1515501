"""Concurrency limit, overload, overlapping runs, failures and lateness figures."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fakeclock import FakeClock
from sched_helpers import Harness, MakeHarness, jobs_of, template

from augenmass.core.values import CheckJob, CheckResult
from augenmass.scheduler import Scheduler

T0 = 1_000.0


async def test_concurrency_limit_is_honoured(clock: FakeClock, make_harness: MakeHarness) -> None:
    jobs = [template(f"s{i}", interval=60.0) for i in range(20)]
    harness = await make_harness(jobs_of(jobs), max_concurrency=3, max_spread=10.0)
    harness.gate = asyncio.Event()
    await clock.advance(15.0)
    assert harness.in_flight == 3
    stats = harness.sched.stats
    assert (stats.in_flight, stats.queued, stats.checks_started) == (3, 17, 3)
    harness.gate.set()
    await clock.advance(1.0)
    assert {job.key for _, job in harness.starts} == set(jobs_of(jobs))
    assert harness.max_in_flight == 3
    assert harness.sched.stats.checks_completed == 20


async def test_overload_runs_everything_in_due_order_and_reports_lateness(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    jobs = jobs_of(template(f"s{i:03}", interval=60.0) for i in range(100))
    harness = await make_harness(jobs, max_concurrency=2, max_spread=60.0, run_time=5.0)
    first_due = [harness.sched.next_check(key) or 0.0 for key in jobs]
    await clock.advance(100.0)
    assert harness.sched.stats.queued > 50  # falling behind, visibly
    await clock.advance(200.0)
    firsts = [job for _, job in harness.starts[:100]]
    assert {job.key for job in firsts} == set(jobs)  # none dropped, none run twice first
    assert [job.due_at for job in firsts] == pytest.approx(sorted(first_due))
    lateness = harness.sched.pop_lateness_samples()
    assert len(lateness) == len(harness.starts)
    assert sum(lateness[-10:]) > sum(lateness[:10]) + 10 * 100  # grows by minutes
    assert harness.sched.stats.lateness_max > 150.0
    assert harness.max_in_flight == 2
    # each key is still scheduled exactly once (running or in the queue)
    waiting = {k for k in jobs if harness.sched.next_check(k) is not None}
    assert len(waiting) + harness.in_flight == 100


async def test_key_still_running_at_its_next_due_time_is_not_run_twice(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("slow", interval=10.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0, run_time=25.0)
    await clock.advance(100.0)
    # each run takes 25 s > 10 s interval: the next one starts when the last ends
    assert harness.starts_of(job.key) == [T0, T0 + 25, T0 + 50, T0 + 75, T0 + 100]
    assert harness.max_in_flight == 1
    assert harness.sched.stats.overruns == 4


async def test_exceptions_in_runner_or_on_result_do_not_stop_the_loop(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = jobs_of(template(n, interval=10.0) for n in ("runner-fails", "ingest-fails", "fine"))
    runs: list[str] = []
    results: list[str] = []

    async def run(job: CheckJob) -> CheckResult:
        runs.append(str(job.key.service))
        if job.key.service == "runner-fails":
            raise RuntimeError("runner bug")
        return CheckResult(job.key, 0, "OK")

    async def on_result(result: CheckResult) -> float | None:
        results.append(str(result.key.service))
        if result.key.service == "ingest-fails":
            raise ValueError("ingest bug")
        return None

    sched = Scheduler(clock, run, on_result, max_spread=0.0)
    sched.set_jobs(jobs)
    task = asyncio.create_task(sched.run())
    with caplog.at_level(logging.ERROR, logger="augenmass.scheduler"):
        await clock.advance(35.0)
    assert not task.done()
    assert sorted(runs) == sorted(["runner-fails", "ingest-fails", "fine"] * 4)
    assert sorted(results) == sorted(["ingest-fails", "fine"] * 4)
    assert sched.stats.errors == 8
    logged = caplog.text
    assert "h/runner-fails" in logged and "h/ingest-fails" in logged
    sched.stop()
    await asyncio.wait_for(task, timeout=5)


async def test_stats_and_lateness_samples(clock: FakeClock, make_harness: MakeHarness) -> None:
    jobs = [template(f"s{i}", interval=60.0) for i in range(3)]
    harness = await make_harness(jobs_of(jobs), max_concurrency=1, max_spread=0.0, run_time=2.0)
    await clock.advance(10.0)
    assert harness.sched.pop_lateness_samples() == [0.0, 2.0, 4.0]
    assert harness.sched.pop_lateness_samples() == []
    stats = harness.sched.stats
    assert (stats.jobs, stats.checks_started, stats.checks_completed) == (3, 3, 3)
    assert (stats.lateness_samples, stats.lateness_p50, stats.lateness_max) == (3, 2.0, 4.0)
    assert stats.lateness_p99 == 4.0
    await clock.advance(120.0)  # the window forgets the first starts; the next ones were on time
    stats = harness.sched.stats
    assert stats.lateness_max == 0.0 and stats.lateness_samples == 3


async def test_stop_cancels_running_checks_and_keeps_them_scheduled(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("a", interval=60.0)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    harness.gate = asyncio.Event()
    await clock.advance(60.0)
    assert harness.in_flight == 1
    await harness.stop()
    assert harness.cancelled == [job.key]
    assert harness.sched.next_check(job.key) is not None
    assert harness.sched.stats.in_flight == 0
    await asyncio.wait_for(harness.sched.run(), timeout=1)  # stop() is final


async def test_stop_before_run_starts_is_not_lost(clock: FakeClock) -> None:
    harness = Harness(clock)
    harness.sched.set_jobs(jobs_of([template("a")]))
    harness.start()
    harness.sched.stop()  # before the run() task got its first turn
    assert harness.task is not None
    await asyncio.wait_for(harness.task, timeout=1)
    assert harness.starts == []


async def test_cancelling_run_is_clean(clock: FakeClock, make_harness: MakeHarness) -> None:
    harness = await make_harness(jobs_of([template("a")]), max_spread=0.0)
    harness.gate = asyncio.Event()
    await clock.advance(60.0)
    assert harness.task is not None
    harness.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await harness.task
    assert harness.in_flight == 0 and harness.sched.stats.in_flight == 0
    harness.task = None


async def test_many_jobs_each_run_once_per_interval() -> None:
    clock = FakeClock(settle_rounds=5)  # runs finish at once; few loop turns keep this quick
    jobs = jobs_of(template(f"s{i:04}", interval=60.0) for i in range(2000))
    harness = Harness(clock, max_spread=60.0)
    harness.sched.set_jobs(jobs)
    harness.start()
    try:
        await clock.advance(179.0)
    finally:
        await harness.stop()
    per_key: dict[object, int] = {}
    for _, job in harness.starts:
        per_key[job.key] = per_key.get(job.key, 0) + 1
    assert len(per_key) == 2000
    assert set(per_key.values()) <= {2, 3}  # first run in [0, 60), then every 60 s
    assert harness.sched.stats.lateness_max == 0.0
