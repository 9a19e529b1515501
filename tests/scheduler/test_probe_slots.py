"""Issue 17: slots for built-in probes are sized from the plan's rate; plugins (processes) keep
the fixed `max_concurrency`, and a plugin waiting for its slot holds up no probe behind it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from fakeclock import FakeClock
from sched_helpers import SPEC, MakeHarness, jobs_of, template

from augenmass.core.plan import CheckSpec
from augenmass.scheduler import JobTemplate
from augenmass.scheduler import scheduler as scheduler_module

HTTP = CheckSpec(type="http", options={"url": "http://127.0.0.1/"})


def probes(n: int, interval: float, prefix: str = "p") -> list[JobTemplate]:
    return [replace(template(f"{prefix}{i:03}", interval=interval), check=HTTP) for i in range(n)]


async def test_probes_are_not_held_to_the_plugin_limit(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    # 800 checks every second: 800/s asked, slots for 0.25 s of them = 200
    harness = await make_harness(jobs_of(probes(800, 1.0)), max_concurrency=4, max_spread=0.5)
    harness.gate = asyncio.Event()
    await clock.advance(1.0)
    assert harness.in_flight == 200 and harness.sched.stats.queued == 600
    harness.gate.set()
    await clock.advance(0.1)
    await clock.advance(0.1)
    assert {job.key for _, job in harness.starts} == {t.key for t in probes(800, 1.0)}
    assert harness.sched.stats.checks_completed >= 800


async def test_slots_follow_the_rate_and_stop_at_the_safety_bound(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    # 2,400 checks a minute: 40/s asked, 10 slots
    slow = await make_harness(jobs_of(probes(2400, 60.0)), max_concurrency=4, max_spread=1.0)
    slow.gate = asyncio.Event()
    await clock.advance(1.5)
    assert slow.in_flight == 10 and slow.sched.stats.queued == 2390
    slow.gate.set()
    await slow.stop()
    # 60 a minute: 1/s asked, and never fewer slots than max_concurrency
    few = await make_harness(jobs_of(probes(60, 60.0, "q")), max_concurrency=4, max_spread=1.0)
    few.gate = asyncio.Event()
    await clock.advance(1.5)
    assert few.in_flight == 4 and few.sched.stats.queued == 56
    few.gate.set()


async def test_the_safety_bound_caps_every_check(
    clock: FakeClock, make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "PROBE_SLOTS_MAX", 50)
    # 300/s asked would size 75 slots
    harness = await make_harness(jobs_of(probes(300, 1.0)), max_concurrency=4, max_spread=0.5)
    harness.gate = asyncio.Event()
    await clock.advance(1.0)
    assert harness.in_flight == 50 and harness.sched.stats.queued == 250
    harness.gate.set()


async def test_plugins_keep_their_limit_and_probes_pass_them(
    clock: FakeClock, make_harness: MakeHarness
) -> None:
    plugins = [template(f"x{i:03}", interval=1.0) for i in range(20)]
    assert all(t.check is SPEC for t in plugins)
    jobs = jobs_of(plugins + probes(20, 1.0))
    harness = await make_harness(jobs, max_concurrency=3, max_spread=0.5, probe_slots=100)
    harness.gate = asyncio.Event()
    await clock.advance(1.0)
    running = [job.check.type for _, job in harness.starts]
    assert running.count("plugin") == 3 and running.count("http") == 20
    stats = harness.sched.stats
    assert (stats.in_flight, stats.queued) == (23, 17)
    # the plugin checks waiting for a slot keep their due time (still scheduled, not lost)
    assert sum(harness.sched.next_check(t.key) is not None for t in plugins) == 17
    harness.gate.set()
    await clock.advance(0.5)
    firsts = {job.key for _, job in harness.starts}
    assert firsts == set(jobs)  # every plugin check ran, three at a time
    assert harness.max_in_flight <= 23
