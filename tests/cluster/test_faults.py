"""At least once through faults: a worker killed mid-job (kill -9), NATS restarted, a worker
that freezes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from natsserver import NatsServer

from .helpers import (
    dispatch,
    dummy_job,
    plugin_job,
    prefix,
    ready,
    shell_plugin,
    start_worker,
    stop,
    until,
)


def _worker_process(url: str, pfx: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "augenmass",
                "worker",
                "--nats",
                url,
                "--prefix",
                pfx,
                "--name",
                name,
                "--concurrency",
                "1",
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    finally:
        out.close()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_a_job_whose_worker_is_killed_is_redone_by_another_and_answered_once(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    runs = tmp_path / "runs"
    # each run notes its worker's pid (its parent); the first works long enough to be killed
    plugin = shell_plugin(
        tmp_path / "slow.sh",
        f"n=$(cat {runs} 2>/dev/null | wc -l)\n"
        f"echo $PPID $$ >> {runs}\n"
        'if [ "$n" = 0 ]; then sleep 8; fi\n'
        "echo 'OK finished'\n",
    )
    d = dispatch(nats_server.url, pfx, ack_wait=1.0)
    await d.start()
    procs = {
        name: _worker_process(nats_server.url, pfx, name, tmp_path / f"{name}.log")
        for name in ("one", "two")
    }
    try:
        await until(lambda: d.figures().zones[0].workers == 2, 20, "both workers alive")
        remote = d.offer(plugin_job((str(plugin),), timeout=10), "default")
        assert remote is not None
        waiting = asyncio.ensure_future(remote)
        await until(lambda: len(_lines(runs)) == 1, 15, "a worker started the job")
        taker_pid, plugin_pid = (int(x) for x in _lines(runs)[0].split())
        taker = next(name for name, p in procs.items() if p.pid == taker_pid)
        os.killpg(taker_pid, signal.SIGKILL)
        procs[taker].wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.kill(plugin_pid, signal.SIGKILL)  # its own session: the orphan of the dead worker
        result = await asyncio.wait_for(waiting, 30)
        other = "two" if taker == "one" else "one"
        assert result is not None and result.output == "OK finished"
        assert result.source == f"worker:{other}", "redone by the other worker"
        assert len(_lines(runs)) == 2
        zone = d.figures().zones[0]
        assert (zone.sent, zone.results, zone.redelivered) == (1, 1, 1)
        assert d.figures().duplicates == 0
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
        await d.stop()


async def test_a_worker_stopped_with_sigterm_hands_its_job_back_at_once(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    runs = tmp_path / "runs"
    plugin = shell_plugin(
        tmp_path / "slow.sh", f"echo start >> {runs}\nsleep 3\necho 'OK finished'\n"
    )
    # a long ack wait: only the hand-back (nak) can make the second worker take it in time
    d = dispatch(nats_server.url, pfx, ack_wait=60.0)
    await d.start()
    first, second = start_worker(nats_server.url, pfx, name="first", stop_grace=0.2), None
    try:
        await ready(d)
        waiting = asyncio.ensure_future(d.offer(plugin_job((str(plugin),)), "default"))  # type: ignore[arg-type]
        await until(lambda: len(_lines(runs)) == 1, 15, "the first worker started the job")
        second = start_worker(nats_server.url, pfx, name="second")
        await stop(first)  # SIGTERM's path: stop() then a bounded finish
        result = await asyncio.wait_for(waiting, 20)
        assert result is not None and result.source == "worker:second"
    finally:
        await stop(*(w for w in (second,) if w is not None))
        await d.stop()


async def test_nats_restarted_workers_and_server_reconnect_and_the_job_in_flight_arrives(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    runs = tmp_path / "runs"
    plugin = shell_plugin(
        tmp_path / "slow.sh", f"echo start >> {runs}\nsleep 1\necho 'OK through'\n"
    )
    d = dispatch(nats_server.url, pfx, ack_wait=5.0)
    await d.start()
    w = start_worker(nats_server.url, pfx)
    try:
        await ready(d)
        waiting = asyncio.ensure_future(d.offer(plugin_job((str(plugin),)), "default"))  # type: ignore[arg-type]
        await until(lambda: len(_lines(runs)) == 1, 15, "the worker started the job")
        nats_server.stop()  # the job runs on while NATS is gone
        await until(lambda: not d.figures().connected, 10, "the server saw NATS go")
        assert d.offer(dummy_job(), "default") is None, "meanwhile the server checks itself"
        nats_server.start()  # same port, same store: the streams are still there
        result = await asyncio.wait_for(waiting, 30)
        assert result is not None and result.output == "OK through"
        await until(lambda: d.figures().connected, 15, "the server reconnected")
        await ready(d)
        again = d.offer(dummy_job(output="after"), "default")
        assert again is not None
        after = await asyncio.wait_for(again, 15)
        assert after is not None and after.output == "after"
        assert len(_lines(runs)) == 1, "the job in flight was not run twice"
    finally:
        if nats_server.proc is None:
            nats_server.start()
        await stop(w)
        await d.stop()


async def test_a_job_nobody_answers_in_time_is_counted_unanswered_and_not_waited_for_longer(
    nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The only worker of the zone freezes (SIGSTOP) mid-job: its job is not run anywhere else,
    the server stops waiting when the job's answer window ends (its timeout + ack wait + the
    margins), counts it `unanswered` and says so once; the worker, thawed, answers again."""
    pfx = prefix()
    started = tmp_path / "started"
    plugin = shell_plugin(
        tmp_path / "slow.sh", f"echo $PPID >> {started}\nsleep 1\necho 'OK slow'\n"
    )
    d = dispatch(nats_server.url, pfx, ack_wait=1.0)
    await d.start()
    proc = _worker_process(nats_server.url, pfx, "frozen", tmp_path / "frozen.log")
    try:
        await ready(d)
        remote = d.offer(plugin_job((str(plugin),), timeout=2), "default")
        assert remote is not None
        waiting = asyncio.ensure_future(remote)
        await until(lambda: _lines(started), 15, "the worker started the job")
        began = time.monotonic()
        os.killpg(proc.pid, signal.SIGSTOP)
        with caplog.at_level(logging.WARNING, logger="augenmass.cluster"):
            result = await asyncio.wait_for(waiting, 30)
        waited = time.monotonic() - began
        assert result is None  # not run here as well, and no result made up
        zone = d.figures().zones[0]
        assert (zone.sent, zone.results, zone.unanswered) == (1, 0, 1)
        # the answer window: timeout 2 + (ack wait 1 + 2 margins of 2) = 9 s from the offer
        assert 3.0 < waited < 20.0, waited
        assert any("not answered in time" in r.getMessage() for r in caplog.records)
        os.killpg(proc.pid, signal.SIGCONT)
        await ready(d)  # its heartbeats come again
        again = d.offer(plugin_job((str(plugin),), name="p2", timeout=10), "default")
        assert again is not None
        thawed = await asyncio.wait_for(again, 30)
        assert thawed is not None and thawed.output == "OK slow"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        await d.stop()
