"""The server's dispatch and workers in the test's own event loop, against a real nats-server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from augenmass.cluster.bounded import within
from augenmass.cluster.dispatch import Dispatch
from augenmass.cluster.worker import Worker, WorkerOptions
from augenmass.core.clock import SystemClock
from augenmass.core.plan import CheckSpec, ClusterSettings
from augenmass.core.values import CheckJob, CheckKey, CheckResult


def prefix() -> str:
    """A fresh prefix: tests sharing the module's nats-server see nothing of each other."""
    return f"t{uuid.uuid4().hex[:10]}"


class Local:
    """The server's own runner, as the dispatch falls back to it: counts what it ran."""

    def __init__(self) -> None:
        self.ran: list[CheckKey] = []

    async def __call__(self, job: CheckJob) -> CheckResult:
        self.ran.append(job.key)
        return CheckResult(job.key, 0, "ran on the server", source="scheduler")


def dispatch(url: str, pfx: str, zones: tuple[str, ...] = (), ack_wait: float = 10.0) -> Dispatch:
    settings = ClusterSettings(nats_url=url, prefix=pfx, zones=zones, ack_wait=ack_wait)
    return Dispatch(settings, SystemClock(), Local(), ("/usr/lib/nagios/plugins",), 65536)


def local_of(d: Dispatch) -> Local:
    return d._local  # type: ignore[return-value]


def dummy_job(name: str = "s", output: str = "from a worker", sleep: float = 0.0) -> CheckJob:
    spec = CheckSpec(type="dummy", options={"state": 1, "output": output, "sleep": sleep})
    return CheckJob(CheckKey("h", name), spec, {})


def shell_plugin(path: Path, body: str) -> Path:
    """An executable /bin/sh plugin at `path` running `body`."""
    path.write_text(f"#!/bin/sh\n{body}")
    path.chmod(0o755)
    return path


async def remote_result(d: Dispatch, job: CheckJob, zone: str = "default") -> CheckResult:
    """The result of `job` run by a worker of `zone` (the zone must have one)."""
    remote = d.offer(job, zone)
    assert remote is not None, f"no worker of zone {zone} took the job"
    result = await asyncio.wait_for(remote, 10)
    assert isinstance(result, CheckResult)
    return result


def plugin_job(argv: tuple[str, ...], name: str = "p", timeout: float = 10.0) -> CheckJob:
    return CheckJob(
        CheckKey("h", name), CheckSpec(type="plugin", command=argv, timeout=timeout), {}
    )


def start_worker(
    url: str, pfx: str, zone: str = "default", **kw: Any
) -> tuple[Worker, asyncio.Task[None]]:
    worker = Worker(WorkerOptions(url=url, zone=zone, prefix=pfx, **kw))
    return worker, asyncio.create_task(worker.run())


async def until(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait (bounded) for `pred` to hold; its last value in the failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if isinstance(last, Awaitable):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what} (last: {last!r})")


async def ready(d: Dispatch, zone: str = "default") -> None:
    """The dispatch is connected and sees a live worker of `zone`."""
    await until(lambda: d._ready and d._zone_alive(zone), 10, f"a live worker of {zone}")


async def stop(*tasks: tuple[Worker, asyncio.Task[None]]) -> None:
    for worker, _ in tasks:
        worker.stop()
    done, pending = await asyncio.wait([t for _, t in tasks], timeout=20)
    if pending:
        for task in asyncio.all_tasks():
            task.print_stack()
        raise AssertionError("a worker did not stop within 20 s")


async def close(nc: Any) -> None:
    """Close a test's own NATS client, bounded: nats-py's close can wait on a full flush queue
    or a transport that does not drain."""
    await within(nc.close(), 5)


def worker_until_unreachable(args: list[str], log: Path, env: dict[str, str] | None = None) -> str:
    """Run `augenmass worker ARGS` until it logs that NATS is unreachable (bounded), end it with
    SIGTERM (it must exit 0) and return its log."""
    cmd = [sys.executable, "-m", "augenmass", "worker", *args]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "NATS unreachable" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert "NATS unreachable" in text, text
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0
        return log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
