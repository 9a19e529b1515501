"""Built-in probes in worker processes: same results as in the server's loop, and a worker that
dies or hangs costs one check an UNKNOWN, never the server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from runner_helpers import job

from augenmass.core.values import CheckJob, CheckKey
from augenmass.runner import Runner
from augenmass.runner import pool as pool_module
from augenmass.runner.pool import RESTART_DELAYS, SAMPLE_SECONDS, ProbeWorkers


@pytest.fixture
async def pool() -> AsyncIterator[ProbeWorkers]:
    workers = ProbeWorkers(1, always=True)
    await workers.start()
    yield workers
    await workers.stop()


@pytest.fixture
async def banner_port() -> AsyncIterator[int]:
    async def greet(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"220 mail.example ESMTP\r\n")
        await w.drain()
        w.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def until(pred: Callable[[], bool], seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


def tcp(port: int, **options: object) -> dict[str, object]:
    return {"host": "127.0.0.1", "port": port, **options}


async def test_worker_result_matches_the_servers_own(pool: ProbeWorkers, banner_port: int) -> None:
    options = tcp(banner_port, expect="220", warning="30", critical="60")
    here = await Runner([]).run(job(type="tcp", options=options, timeout=3))
    there = await Runner([], workers=pool).run(job(type="tcp", options=options, timeout=3))
    assert pool.sent == 1  # the second one really went to the worker
    assert (there.status, here.status) == (0, 0), (there.output, here.output)
    assert there.output.split(" - ")[0] == here.output.split(" - ")[0] == "TCP OK"
    assert [(p.label, p.uom, p.warn, p.crit) for p in there.perfdata] == [
        (p.label, p.uom, p.warn, p.crit) for p in here.perfdata
    ]


async def test_many_checks_in_flight_each_get_their_own_answer(
    pool: ProbeWorkers, banner_port: int
) -> None:
    runner = Runner([], workers=pool)
    good = [runner.run(job(type="tcp", options=tcp(banner_port), timeout=3)) for _ in range(50)]
    bad = [
        runner.run(job(type="tcp", options=tcp(banner_port, expect="nope"), timeout=3))
        for _ in range(50)
    ]
    results = await asyncio.gather(*good, *bad)
    assert pool.sent == 100
    assert [r.status for r in results] == [0] * 50 + [1] * 50  # a wrong banner: WARNING


async def test_a_checks_options_go_to_its_worker_once(
    pool: ProbeWorkers, banner_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a check's first run a job is two numbers; the answers stay each check's own, also
    when the worker's table is reset (more checks than it keeps: after reloads) and after a
    worker restart."""
    monkeypatch.setattr(pool_module, "MAX_REFS", 4)
    runner = Runner([], workers=pool)
    checks = [job(type="tcp", options=tcp(banner_port, expect=e), timeout=3) for e in "2X9"]
    worker = pool._workers[0]
    assert worker is not None and worker.stdin is not None
    written: list[bytes] = []
    real_write = worker.stdin.write
    monkeypatch.setattr(worker.stdin, "write", lambda d: written.append(d) or real_write(d))

    async def round_of(these: list[CheckJob]) -> tuple[list[int], int, int]:
        """States, checks defined (options sent) and resets in one round."""
        written.clear()
        results = await asyncio.gather(*(runner.run(c) for c in these))
        sent = b"".join(written)
        return [r.status for r in results], sent.count(b'"expect"'), sent.count(b'["f"]')

    assert await round_of(checks) == ([0, 1, 1], 3, 0)
    for _ in range(3):
        assert await round_of(checks) == ([0, 1, 1], 0, 0)  # two numbers a job
    more = [job(type="tcp", options=tcp(banner_port, expect=e), timeout=3) for e in ("22", "220")]
    assert await round_of(more[:1]) == ([0], 1, 0)
    assert await round_of(more[1:]) == ([0], 1, 1)  # the fifth: the table starts again
    assert await round_of(checks) == ([0, 1, 1], 3, 0)
    assert pool.sent == 17
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGKILL)
    await until(lambda: pool.alive == 1 and pool.pids() != [pid], 20)
    again = await asyncio.gather(*(runner.run(c) for c in checks))  # defined anew
    assert [r.status for r in again] == [0, 1, 1], [r.output for r in again]


async def test_killed_worker_gives_unknown_and_is_restarted(
    pool: ProbeWorkers, silent_port: int, banner_port: int
) -> None:
    runner = Runner([], workers=pool)
    (pid,) = pool.pids()
    waiting = asyncio.ensure_future(
        runner.run(job(type="tcp", options=tcp(silent_port, expect="x"), timeout=10))
    )
    await until(lambda: bool(pool._workers[0] and pool._workers[0].waiting), 5)
    os.kill(pid, signal.SIGKILL)
    result = await asyncio.wait_for(waiting, 5)
    assert result.status == 3
    assert "probe worker 0 ended during the check" in result.output
    assert "restarted" in result.output
    await until(lambda: pool.alive == 1, 20)
    assert pool.started == 2 and pool.pids() != [pid]
    after = await runner.run(job(type="tcp", options=tcp(banner_port), timeout=3))
    assert after.status == 0, after.output


async def test_a_flood_of_jobs_is_all_answered_and_dead_targets_hold_up_no_other_check(
    pool: ProbeWorkers, banner_port: int
) -> None:
    """The worker starts a frame's jobs START_PER_PASS at a time, the rest in order after: 1,000
    checks handed over at once all get their answer, and 100 of them hanging on a target that
    never greets (until their timeout) keep none of the others waiting."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)  # connected, never greeted

    mute = await asyncio.start_server(silent, "127.0.0.1", 0)
    mute_port = mute.sockets[0].getsockname()[1]
    runner = Runner([], workers=pool)
    try:
        hung = [
            asyncio.ensure_future(
                runner.run(job(type="tcp", options=tcp(mute_port, expect="220"), timeout=20))
            )
            for _ in range(100)
        ]
        await asyncio.sleep(0)  # in the first frame, ahead of the quick ones
        quick = [
            runner.run(job(type="tcp", options=tcp(banner_port, expect="220"), timeout=20))
            for _ in range(900)
        ]
        results = await asyncio.wait_for(asyncio.gather(*quick), 15)
        assert [r.status for r in results] == [0] * 900, {r.output for r in results}
        assert not any(t.done() for t in hung)  # still waiting for a greeting: they held no one
    finally:
        for t in hung:
            t.cancel()
        await asyncio.gather(*hung, return_exceptions=True)
        for w in held:
            w.close()
        mute.close()
    assert pool.sent == 1000


async def test_hung_worker_gives_the_timeout_state(pool: ProbeWorkers, banner_port: int) -> None:
    runner = Runner([], workers=pool)
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        result = await runner.run(
            job(type="tcp", options=tcp(banner_port), timeout=0.2, timeout_state=2)
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert result.status == 2
    assert result.output == "timed out after 0.2 s (the probe worker did not answer)"
    # the late answer is dropped; the worker goes on serving
    again = await runner.run(job(type="tcp", options=tcp(banner_port), timeout=3))
    assert again.status == 0, again.output


async def test_checks_run_in_the_server_while_it_is_idle(banner_port: int) -> None:
    workers = ProbeWorkers(2)  # automatic: offload only when the server's loop is busy
    await workers.start()
    try:
        assert not workers.offloading
        key = CheckKey("h", "s")
        assert workers.pick(key, "tcp") is None
        result = await Runner([], workers=workers).run(
            job(type="tcp", options=tcp(banner_port), timeout=3)
        )
        assert result.status == 0 and workers.sent == 0
        assert workers.started == 0 and workers.pids() == []  # an idle server needs none
        # a probe that keeps counters between runs always goes to the same worker: the first
        # run starts it (and runs in the loop meanwhile)
        assert workers.pick(key, "snmp-interface") is None
        await until(lambda: workers.pick(key, "snmp-interface") is not None, 20)
        assert workers.started == 1  # only the one this check goes to
        assert workers.pick(key, "tcp") is None  # other probes still stay in the loop
    finally:
        await workers.stop()


async def test_a_worker_starts_when_first_needed_and_ends_when_idle(
    banner_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "IDLE_RETIRE", 1.0)
    workers = ProbeWorkers(1)
    await workers.start()
    try:
        runner = Runner([], workers=workers)
        key = CheckKey("h", "s")
        assert workers.pids() == []
        workers.plan_rate(pool_module.BUSY_RATE)  # offloading from now on
        assert workers.pick(key, "tcp") is None  # not up yet: this check runs in the loop
        await until(lambda: workers.pick(key, "tcp") is not None, 20)
        result = await runner.run(job(type="tcp", options=tcp(banner_port), timeout=3))
        assert result.status == 0 and workers.sent == 1
        (pid,) = workers.pids()
        # Quiet again: no job for IDLE_RETIRE seconds ends the worker; that is no crash, so it
        # is not restarted until a check needs it again.
        workers.plan_rate(0.0)
        await until(lambda: workers.pick(key, "tcp") is None and workers.pids() == [], 30)
        await asyncio.sleep(RESTART_DELAYS[0] + 0.2)
        assert workers.started == 1 and workers.alive == 0
        workers.plan_rate(pool_module.BUSY_RATE)
        await until(lambda: workers.pick(key, "tcp") is not None, 20)
        assert workers.started == 2 and workers.pids() != [pid]
        # one that ran a probe with counters keeps them: it is not ended for idling
        assert workers.pick(key, "snmp-interface") is not None
        workers.plan_rate(0.0)
        await until(lambda: workers.pick(key, "tcp") is None, 30)  # quiet: in the loop again
        (pid,) = workers.pids()
        for _ in range(3):  # picks past IDLE_RETIRE: each may end an idle worker
            await asyncio.sleep(pool_module.IDLE_RETIRE)
            workers.pick(key, "tcp")
        await asyncio.sleep(1.0)
        assert workers.pids() == [pid] and workers.started == 2
    finally:
        await workers.stop()


async def test_workers_exit_when_stopped(pool: ProbeWorkers) -> None:
    (pid,) = pool.pids()
    await pool.stop()
    assert pool.alive == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_no_workers_means_every_check_runs_here(banner_port: int) -> None:
    workers = ProbeWorkers(0)
    await workers.start()
    result = await Runner([], workers=workers).run(
        job(type="tcp", options=tcp(banner_port), timeout=3)
    )
    assert result.status == 0 and workers.sent == 0 and workers.pids() == []


async def test_worker_leaks_no_sockets_over_many_failing_checks(
    pool: ProbeWorkers, silent_port: int, banner_port: int
) -> None:
    runner = Runner([], workers=pool)
    (pid,) = pool.pids()
    await runner.run(job(type="tcp", options=tcp(banner_port), timeout=3))  # warm up imports

    def fds() -> int:
        return len(os.listdir(f"/proc/{pid}/fd"))

    before = fds()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    # (options, timeout): only the silent one runs into its deadline, so it is short; the
    # others get time enough for a loaded machine (0.3 s for all made a busy CI run see
    # every banner check time out)
    kinds = [
        (tcp(closed), 5.0),  # refused
        (tcp(silent_port, expect="x"), 0.3),  # silence until the deadline
        (tcp(banner_port, expect="nope"), 5.0),  # wrong banner
        (tcp(banner_port, send="HELO\\r\\n", expect="220"), 5.0),
    ]
    for _ in range(5):
        batch = [runner.run(job(type="tcp", options=o, timeout=t)) for o, t in kinds * 50]
        results = await asyncio.gather(*batch)
        assert {r.status for r in results} >= {0, 1, 2}
    assert pool.sent == 1 + 1000
    await until(lambda: fds() <= before, 5)


def test_a_plan_asking_for_many_probe_checks_offloads_from_the_start(tmp_path: Path) -> None:
    from augenmass.config import load_config
    from augenmass.server.server import build_jobs, probe_rate

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "hosts: {h: {address: 127.0.0.1}}\n"
        "services:\n"
        + "".join(
            f"  - {{name: s{i}, host: h, check_interval: 1s, check: {{type: tcp, port: 9}}}}\n"
            for i in range(1200)
        )
        + "  - {name: p, host: h, check_interval: 1s, check: {type: plugin, command: [x]}}\n"
    )
    plan = load_config(cfg)
    rate = probe_rate(build_jobs(plan).values())
    # the plugin does not count; the host's default ping (every 5 minutes) does
    assert rate == pytest.approx(1200.0 + 1 / 300)
    idle, busy = ProbeWorkers(1), ProbeWorkers(1)
    idle.plan_rate(rate / 10)
    busy.plan_rate(rate)
    assert (idle.offloading, busy.offloading) == (False, True)


async def test_probes_move_to_the_worker_while_the_server_is_busy_and_back(
    banner_port: int,
) -> None:
    workers = ProbeWorkers(1)
    await workers.start()
    try:
        runner = Runner([], workers=workers)
        key = CheckKey("h", "s")
        # The server's loop at a full core until the pool notices (it samples once a second;
        # on a loaded machine this process may get less than a core, so spin until it does).
        give_up = time.monotonic() + 20
        while workers.pick(key, "tcp") is None and not workers.offloading:
            assert time.monotonic() < give_up, "the pool never saw the busy loop"
        assert workers.offloading
        await until(lambda: workers.pick(key, "tcp") is not None, 20)  # started on need
        result = await runner.run(job(type="tcp", options=tcp(banner_port), timeout=3))
        assert result.status == 0 and workers.sent == 1
        # Idle again: the next checks run in the server's loop once a quiet second is seen.
        give_up = time.monotonic() + 20
        while workers.pick(key, "tcp") is not None:
            assert time.monotonic() < give_up, "the pool never saw the loop go idle"
            await asyncio.sleep(0.2)
        assert not workers.offloading
    finally:
        await workers.stop()


async def test_the_servers_own_start_does_not_count_as_load() -> None:
    """Building a large plan's jobs blocks the loop and uses a core for a moment before the
    first check; measured as load, it started workers no check needed."""
    workers = ProbeWorkers(1)
    await workers.start()
    try:
        spin_until = time.process_time() + 1.2
        while time.process_time() < spin_until:  # the start's work, in the loop
            pass
        workers.plan_rate(10.0)  # the checks start now
        await asyncio.sleep(SAMPLE_SECONDS + 0.2)  # quiet, as a server with few checks is
        assert workers.pick(CheckKey("h", "s"), "tcp") is None
        assert not workers.offloading and workers.started == 0
    finally:
        await workers.stop()


async def test_the_work_of_a_start_that_runs_its_first_checks_early_is_not_load() -> None:
    """The first checks run while the server still opens its store and decodes its states (a
    server of its own store starts them before): that work uses the loop for more than a
    sample, late timers and all, and must not start a worker an idle server then keeps."""
    workers = ProbeWorkers(1)
    await workers.start()
    key = CheckKey("h", "s")
    try:
        workers.plan_rate(10.0)  # the checks start now ...
        workers.server_starting()  # ... before the store and the engine are there
        for _ in range(3):
            spin_until = time.process_time() + 0.6
            while time.process_time() < spin_until:  # the start's work, in the loop
                pass
            await asyncio.sleep(0)
            assert workers.pick(key, "tcp") is None  # a first check meanwhile runs here
        workers.server_started()
        await asyncio.sleep(SAMPLE_SECONDS + 0.2)  # quiet, as a server with few checks is
        assert workers.pick(key, "tcp") is None
        assert not workers.offloading and workers.started == 0
    finally:
        await workers.stop()


async def test_a_loop_that_runs_late_offloads_though_its_cpu_share_is_low() -> None:
    """A machine busy with other work: the server gets little CPU, so its share stays low while
    its checks wait. Its timers run late, and that is enough to hand probes to the workers.
    (time.sleep stands for the CPU the server does not get: it blocks the loop, using none.)"""
    workers = ProbeWorkers(1)
    await workers.start()
    try:
        key = CheckKey("h", "s")
        assert workers.pick(key, "tcp") is None
        give_up = time.monotonic() + 20
        while workers.pick(key, "tcp") is None and not workers.offloading:
            assert time.monotonic() < give_up, "the pool never saw its loop run late"
            time.sleep(0.3)  # noqa: ASYNC251 - the point: a loop that does not get to run
            await asyncio.sleep(0)
        assert workers.offloading
    finally:
        await workers.stop()


async def test_a_changed_spec_is_not_served_from_the_expansion_cache() -> None:
    runner = Runner([])
    first = await runner.run(job(type="dummy", options={"output": "on $HOSTNAME$"}))
    again = await runner.run(job(type="dummy", options={"output": "now $HOSTNAME$"}))
    assert (first.output, again.output) == ("on", "now")  # no HOSTNAME macro: empty


async def test_the_servers_jobs_keep_their_expansion_until_the_spec_changes() -> None:
    """Jobs as the server builds them (macros from job_macros, the same objects every run):
    the options are expanded once and the probe gets the same object each run; a reload's new
    spec is expanded anew, with the same macros."""
    from augenmass.core.plan import CheckSpec, HostPlan, ServicePlan
    from augenmass.runner.macros import host_macros, job_macros

    host = HostPlan("web1", address="127.0.0.9")
    spec = CheckSpec("dummy", options={"output": "up on $HOSTADDRESS$"})
    service = ServicePlan("web1", "up", spec)
    macros = job_macros(host_macros(host), service, spec)
    key = CheckKey("web1", "up")
    runner = Runner([])
    first, notes = runner._options(CheckJob(key, spec, macros))
    again, _ = runner._options(CheckJob(key, spec, macros))
    assert first is again and first["output"] == "up on 127.0.0.9" and notes == ()
    assert (await runner.run(CheckJob(key, spec, macros))).output == "up on 127.0.0.9"
    reloaded = CheckSpec("dummy", options={"output": "$SERVICEDESC$ on $NOPE$"})
    changed, notes = runner._options(CheckJob(key, reloaded, macros))
    assert changed["output"] == "up on " and notes and "$NOPE$" in notes[0]
    result = await runner.run(CheckJob(key, reloaded, macros))
    assert result.output.startswith("up on")


async def test_checks_with_equal_expanded_options_share_one_copy() -> None:
    """One read-only view for equal options (after macros, value types included): what a
    check's options cost in memory is paid once for all the checks that agree."""
    runner = Runner([])
    text = {"output": "up on $HOSTNAME$"}
    on_a = job(type="dummy", options=text, macros={"HOSTNAME": "a"}, key=CheckKey("a", "s"))
    on_a_too = job(type="dummy", options=text, macros={"HOSTNAME": "a"}, key=CheckKey("a", "t"))
    on_b = job(type="dummy", options=text, macros={"HOSTNAME": "b"}, key=CheckKey("b", "s"))
    one, two, other = (runner._options(j)[0] for j in (on_a, on_a_too, on_b))
    assert one is two and one is not other
    assert (one["output"], other["output"]) == ("up on a", "up on b")
    as_int = runner._options(job(type="dummy", options={"state": 1}))[0]
    as_bool = runner._options(job(type="dummy", options={"state": True}))[0]
    assert as_int is not as_bool and as_bool["state"] is True
    results = [await runner.run(j) for j in (on_a, on_a_too, on_b)]
    assert [r.output for r in results] == ["up on a", "up on a", "up on b"]
