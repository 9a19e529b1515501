"""Fixtures of the scheduler tests: a FakeClock and started Harnesses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fakeclock import FakeClock
from sched_helpers import Harness, MakeHarness

from augenmass.core.values import CheckKey
from augenmass.scheduler import JobTemplate


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_wall=1_700_000_000.0, start_mono=1_000.0)


@pytest.fixture
async def make_harness(clock: FakeClock) -> AsyncIterator[MakeHarness]:
    """make_harness(jobs, run_time=0, **scheduler_kwargs): a started Harness, stopped after."""
    made: list[Harness] = []

    async def factory(
        jobs: dict[CheckKey, JobTemplate], run_time: float = 0.0, **kwargs: Any
    ) -> Harness:
        harness = Harness(clock, **kwargs)
        harness.run_time = run_time
        harness.sched.set_jobs(jobs)
        harness.start()
        made.append(harness)
        await clock.settle()
        return harness

    yield factory
    for harness in made:
        await harness.stop()
