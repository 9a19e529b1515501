"""Smoke test on the real clock: checks happen and stop() ends run() promptly."""

from __future__ import annotations

import asyncio
import random

from sched_helpers import jobs_of, template

from augenmass.core.clock import SystemClock
from augenmass.core.values import CheckJob, CheckResult
from augenmass.scheduler import Scheduler


async def test_fifty_fast_jobs_on_the_system_clock() -> None:
    jobs = jobs_of(template(f"s{i}", interval=0.2) for i in range(50))
    counts = dict.fromkeys(jobs, 0)

    async def run(job: CheckJob) -> CheckResult:
        counts[job.key] += 1
        await asyncio.sleep(0.01)
        return CheckResult(job.key, 0, "OK")

    async def on_result(result: CheckResult) -> float | None:
        return None

    sched = Scheduler(SystemClock(), run, on_result, max_spread=0.2, rng=random.Random(3))
    sched.set_jobs(jobs)
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(1.0)
    # ~5 runs each (first within 0.2 s, then every 0.2 s); more than 6 would be a burst
    assert all(2 <= n <= 6 for n in counts.values()), counts
    sched.stop()
    await asyncio.wait_for(task, timeout=2)  # bounded: a stop() that is ignored fails here
    assert sched.stats.in_flight == 0
