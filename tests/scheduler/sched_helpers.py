"""Shared helpers of the scheduler tests: job templates and a recording runner."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fakeclock import FakeClock

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey, CheckResult
from augenmass.scheduler import JobTemplate, Scheduler

SPEC = CheckSpec(type="plugin", command=("check_dummy", "0"))


def template(name: str, interval: float = 60.0, **kwargs: Any) -> JobTemplate:
    key = CheckKey("h", name)
    return JobTemplate(key=key, check=SPEC, macros={"HOSTNAME": "h"}, interval=interval, **kwargs)


def jobs_of(templates: Iterable[JobTemplate]) -> dict[CheckKey, JobTemplate]:
    return {t.key: t for t in templates}


class Harness:
    """Runs checks by recording them; optionally each run waits on `gate` and/or sleeps
    `run_time` on the fake clock. `on_result` returns the next queued interval for the key."""

    def __init__(self, clock: FakeClock, **kwargs: Any) -> None:
        self.clock = clock
        self.run_time = 0.0
        self.gate: asyncio.Event | None = None
        self.starts: list[tuple[float, CheckJob]] = []  # (monotonic start, job)
        self.results: list[CheckResult] = []
        self.intervals: dict[CheckKey, list[float | None]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled: list[CheckKey] = []
        kwargs.setdefault("rng", random.Random(7))
        self.sched = Scheduler(clock, self.runner, self.on_result, **kwargs)
        self.task: asyncio.Task[None] | None = None

    async def runner(self, job: CheckJob) -> CheckResult:
        self.starts.append((self.clock.monotonic(), job))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.run_time:
                await self.clock.sleep(self.run_time)
        except asyncio.CancelledError:
            self.cancelled.append(job.key)
            raise
        finally:
            self.in_flight -= 1
        return CheckResult(job.key, 0, "OK", started_at=job.due_at)

    async def on_result(self, result: CheckResult) -> float | None:
        self.results.append(result)
        queued = self.intervals.get(result.key)
        return queued.pop(0) if queued else None

    def starts_of(self, key: CheckKey) -> list[float]:
        return [at for at, job in self.starts if job.key == key]

    def start(self) -> None:
        self.task = asyncio.create_task(self.sched.run())

    async def stop(self) -> None:
        self.sched.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=5)


# what the make_harness fixture gives (here, not in conftest.py: another directory's conftest
# module may be the one `import conftest` finds when several test directories run together)
MakeHarness = Callable[..., Awaitable[Harness]]
