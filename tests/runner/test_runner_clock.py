"""A runner on a fake clock: its probes sleep on that clock and measure their response times
on it, and the start and duration it reports come from it; the probe workers wait out their
restart delay on it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

from fakeclock import FakeClock
from runner_helpers import job

from augenmass.probes import PROBES
from augenmass.runner import Runner
from augenmass.runner.pool import RESTART_DELAYS, ProbeWorkers

WAIT = 20.0  # the longest real wait (a loaded machine), never reached normally


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


def test_every_probe_type_is_made_with_the_runners_clock() -> None:
    clock = FakeClock()
    runner = Runner([], clock=clock)
    for kind in PROBES:
        probe = runner.probes.get(kind)  # a class without the clock= keyword fails here
        assert getattr(probe, "clock", None) is clock, kind


async def test_a_probe_sleeps_on_the_runners_clock_and_reports_its_duration() -> None:
    clock = FakeClock()
    runner = Runner([], clock=clock)
    started = clock.now()
    task = asyncio.create_task(
        runner.run(job(type="dummy", options={"sleep": 30, "output": "slept"}, timeout=60))
    )
    await until(lambda: clock.sleepers == 1, "the dummy probe to sleep on the clock")
    await clock.advance(29.0)
    assert not task.done()
    await clock.advance(1.0)
    result = await asyncio.wait_for(task, WAIT)
    assert (result.status, result.output) == (0, "slept")
    assert result.started_at == started
    assert result.duration == 30.0


async def test_a_response_time_is_measured_on_the_clock() -> None:
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        runner = Runner([], clock=FakeClock())  # a real connect, but no time passes on it
        result = await runner.run(job(type="tcp", options={"host": "127.0.0.1", "port": port}))
    finally:
        server.close()
        await server.wait_closed()
    assert result.status == 0, result.output
    assert "0.000 second response time" in result.output
    assert [(p.label, p.value) for p in result.perfdata] == [("time", 0.0)]
    assert result.duration == 0.0


async def test_a_runner_on_another_clock_keeps_its_probes_out_of_the_workers() -> None:
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = ProbeWorkers(1, always=True)  # would take every probe of a runner on real time
    await pool.start()
    try:
        runner = Runner([], clock=FakeClock(), workers=pool)
        result = await runner.run(job(type="tcp", options={"host": "127.0.0.1", "port": port}))
    finally:
        await pool.stop()
        server.close()
        await server.wait_closed()
    assert result.status == 0, result.output
    assert pool.sent == 0  # a worker process knows only the system clock
    assert [(p.label, p.value) for p in result.perfdata] == [("time", 0.0)]


async def test_a_crashed_worker_is_restarted_after_its_delay_on_the_clock() -> None:
    clock = FakeClock()
    pool = ProbeWorkers(1, always=True, clock=clock)
    await pool.start()
    try:
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)
        await until(lambda: clock.sleepers == 1, "the restart to wait on the clock")
        assert (pool.alive, pool.started) == (0, 1)
        await clock.advance(RESTART_DELAYS[0] - 0.01)
        assert clock.sleepers == 1 and pool.started == 1  # still waiting
        await clock.advance(0.01)
        await until(lambda: pool.alive == 1, "the restarted worker")
        assert pool.started == 2 and pool.pids() != [pid]
    finally:
        await pool.stop()
