"""check_period: a check due outside its period waits for the period's next start (Nagios
reschedules it so); "check now" runs anyway; a period with no future never runs the check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakeclock import FakeClock
from sched_helpers import MakeHarness, jobs_of, template

from augenmass.config import load
from augenmass.core.timeperiod import TimePeriod
from augenmass.server.server import build_jobs

MONDAY_0959 = datetime(2026, 12, 7, 9, 59, tzinfo=UTC).timestamp()
HOUR = 3600.0
# every day 10:00-11:00 UTC
TEN_TO_ELEVEN = TimePeriod("ten-to-eleven", {d: ((10 * 3600, 11 * 3600),) for d in range(7)})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_wall=MONDAY_0959, start_mono=1_000.0)


def _wall(clock: FakeClock, mono: float) -> float:
    return clock.now() + (mono - clock.monotonic())


async def test_checks_run_only_inside_their_period(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("web", interval=20.0, period=TEN_TO_ELEVEN)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    await clock.advance(59.0)  # 09:59:59
    assert harness.starts == []
    assert harness.sched.next_check(job.key) == MONDAY_0959 + 60  # 10:00:00
    await clock.advance(2 * HOUR)  # to 11:59:59
    walls = [_wall(clock, at) for at in harness.starts_of(job.key)]
    assert len(walls) == 180  # 10:00:00, 10:00:20, ... 10:59:40
    assert walls[0] == MONDAY_0959 + 60 and walls[-1] == MONDAY_0959 + 60 + 179 * 20
    assert all(TEN_TO_ELEVEN.contains(w) for w in walls)
    # the next one: tomorrow at 10:00
    assert harness.sched.next_check(job.key) == MONDAY_0959 + 60 + 24 * HOUR


async def test_check_now_runs_outside_the_period_and_the_schedule_still_waits(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("web", interval=20.0, period=TEN_TO_ELEVEN)
    harness = await make_harness(jobs_of([job]), max_spread=0.0)
    await clock.advance(10.0)  # 09:59:10, waiting for 10:00
    assert harness.sched.check_now(job.key) is True
    await clock.settle()
    assert [_wall(clock, at) for at in harness.starts_of(job.key)] == [MONDAY_0959 + 10]
    await clock.advance(49.0)  # 09:59:59: its next run (09:59:30) waited for the period
    assert len(harness.starts) == 1
    await clock.advance(1.0)
    assert len(harness.starts) == 2


async def test_a_period_without_a_future_never_runs_the_check(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    job = template("web", interval=20.0, period=TimePeriod.never())
    other = template("db", interval=20.0)
    harness = await make_harness(jobs_of([job, other]), max_spread=0.0)
    await clock.advance(3 * 24 * HOUR)
    assert harness.starts_of(job.key) == []
    assert harness.sched.next_check(job.key) is None
    assert len(harness.starts_of(other.key)) == 3 * 24 * 180 + 1  # the other check unaffected


def test_a_configured_check_period_reaches_the_scheduler(tmp_path: Path) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(
        """
settings: {timezone: UTC}
timeperiods:
  office-hours:
    monday-friday: "08:00-18:00"
hosts:
  printer: {address: 127.0.0.1, check: none}
services:
  - {name: toner, host: printer, check_period: office-hours, check: {type: dummy, state: 0}}
  - {name: always, host: printer, check: {type: dummy, state: 0}}
"""
    )
    jobs = {key.service: job for key, job in build_jobs(load(cfg).plan).items()}
    period = jobs["toner"].period
    assert period is not None and period.name == "office-hours"
    saturday_noon = datetime(2026, 12, 12, 12, tzinfo=UTC).timestamp()
    assert not period.contains(saturday_noon)
    assert period.contains(saturday_noon - 24 * HOUR)  # Friday noon
    assert jobs["always"].period is None
