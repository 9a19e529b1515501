"""The server's side of its probe workers (see `worker`): start them, route jobs, restart the
ones that die.

Handing a check to a worker costs the server a little (a frame out, a frame back), so it only
does that when its own loop is busy: while the server process uses under LOW of a core and its
loop runs timers on time, probes run in its loop; above HIGH, or with timers LAG_HIGH late (a
machine busy with other work), they go to the workers, until both are low again. A plan asking
for BUSY_RATE checks a second or more offloads from the start and stays so. Probes that
remember something between runs (counter rates) always go to a worker when there is one, so they
see every run of their service. A job goes to worker hash(key) % n, for the same reason. While a
worker is down (between a crash and its restart) its checks run in the server's own loop:
slower, never lost.

A worker is started the first time a check is to go to it, not with the server: an idle server
needs none, and each costs about 30 MB. Until it is up (half a second) its checks run in the
server's loop, so no check waits for a start. A worker that got no job for IDLE_RETIRE seconds
is ended again, unless it ran a probe that remembers something between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from augenmass.core.clock import Clock, SystemClock
from augenmass.probes.base import ProbeOutcome
from augenmass.runner import wire

log = logging.getLogger("augenmass.runner")

HIGH, LOW = 0.5, 0.3  # share of one core used by the server process and its workers
# How late the server's loop runs a timer, seconds. On a machine busy with other work the server
# gets less CPU than it needs and its share stays low while its checks queue up: a loop that
# runs its timers late is busy, whatever its share says.
LAG_HIGH, LAG_LOW = 0.1, 0.03
LAG_EVERY = 0.25
SAMPLE_SECONDS = 1.0
BUSY_RATE = 1000.0  # built-in probe checks per second the configuration asks for
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# probe types whose runs depend on their previous run (SNMP counter rates)
STATEFUL = frozenset({"snmp", "snmp-interface"})
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)  # after the n-th crash in a row
START_TIMEOUT = 30.0
MAX_REFS = 1 << 18  # options a worker keeps by number: far more than a configuration's checks
IDLE_RETIRE = 300.0  # seconds without a job after which a worker is ended (started again on need)


def _process_cpu(pid: int) -> float:
    """utime + stime of a live process (Linux /proc; 0 elsewhere or once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _expire(fut: asyncio.Future[ProbeOutcome | str]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class WorkerGone(RuntimeError):
    """The worker ended (or broke the protocol) before it answered this job."""


def default_workers() -> int:
    """One worker per CPU beyond the first (the server's own loop keeps that one busy), 1..4.
    A ceiling: they start when needed. One per CPU would carry more on 2 CPUs (3,990 instead of
    3,052 checks/s asked 4,000), but a busy server starts them all, and each holds its checks'
    options: 50,000 services took 494 MB with two, 457 MB with one (bench/RESULTS.md)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, (cpus or 1) - 1))


class _Worker(asyncio.SubprocessProtocol):
    def __init__(self, pool: ProbeWorkers, index: int) -> None:
        self.pool = pool
        self.index = index
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.reader = wire.FrameReader()
        self.waiting: dict[int, asyncio.Future[ProbeOutcome | str]] = {}
        self.next_id = 0
        self.out: list[str] = []
        # (id(options), kind, timeout, timeout state) -> (options, ref): what this worker was
        # sent already. The runner hands a check the same read-only options on every run, so
        # after the first one a job is two numbers; the options are kept so an id stays theirs.
        self.refs: dict[tuple[int, str, float, int], tuple[Mapping[str, Any], int]] = {}
        self.gone = False
        self.retiring = False  # ended by the pool for being idle: not a crash, no restart
        self.stateful = False  # it ran a probe that remembers its last run: never retired
        self.used = pool.clock.monotonic()  # when it was last picked for a job
        self.exited: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    # --- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        pipe = self.transport.get_pipe_transport(0) if self.transport else None
        self.stdin = pipe  # type: ignore[assignment]

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if fd != 1 or self.gone:
            return
        try:
            frames = self.reader.feed(data if isinstance(data, bytes) else data.encode())
            answers = [wire.parse_result(item) for f in frames for item in wire.messages(f)]
        except wire.WireError as exc:
            log.error(
                "probe worker broke the protocol; restarting it",
                extra={"worker": self.index, "error": str(exc)},
            )
            self._lost(f"probe worker {self.index} sent a malformed answer")
            if self.transport is not None:
                self.transport.kill()
            return
        if answers:
            self.pool._crashes[self.index] = 0  # it works: the next crash restarts it quickly
        for job_id, answer in answers:
            fut = self.waiting.pop(job_id, None)
            if fut is not None and not fut.done():
                fut.set_result(answer)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._lost(f"probe worker {self.index} ended during the check")

    def process_exited(self) -> None:
        code = self.transport.get_returncode() if self.transport else None
        self._lost(f"probe worker {self.index} ended during the check (exit code {code})")
        if not self.exited.done():
            self.exited.set_result(code)
        self.pool._exited(self, code)

    # --- used by the pool
    def submit(
        self, kind: str, options: Mapping[str, Any], timeout: float, timeout_state: int
    ) -> tuple[int, asyncio.Future[ProbeOutcome | str]]:
        job_id = self.next_id + 1
        messages = self._messages(job_id, kind, options, timeout, timeout_state)  # may raise
        self.next_id = job_id
        fut: asyncio.Future[ProbeOutcome | str] = asyncio.get_running_loop().create_future()
        self.waiting[job_id] = fut
        if not self.out:
            # One frame, one write per loop pass for every job started in it.
            asyncio.get_running_loop().call_soon(self._flush)
        self.out += messages
        return job_id, fut

    def _messages(
        self, job_id: int, kind: str, options: Mapping[str, Any], timeout: float, state: int
    ) -> list[str]:
        if type(options) is not MappingProxyType:  # not the runner's own: sent whole
            return [wire.job(job_id, kind, options, timeout, state)]
        key = (id(options), kind, timeout, state)
        hit = self.refs.get(key)
        if hit is not None and hit[0] is options:
            return [wire.run(job_id, hit[1])]
        out = []
        if len(self.refs) >= MAX_REFS:  # after reloads: drop what may belong to gone checks
            self.refs.clear()
            out.append(wire.FORGET)
        ref = len(self.refs) + 1
        out.append(wire.define(ref, kind, options, timeout, state))
        self.refs[key] = (options, ref)
        out.append(wire.run(job_id, ref))
        return out

    def _flush(self) -> None:
        data, self.out = wire.batch(self.out), []
        if self.stdin is not None and not self.stdin.is_closing() and not self.gone:
            self.stdin.write(data)

    def _lost(self, reason: str) -> None:
        self.gone = True
        waiting, self.waiting = self.waiting, {}
        for fut in waiting.values():
            if not fut.done():
                fut.set_exception(WorkerGone(reason))
                fut.exception()  # retrieved: the waiter may have timed out already


class ProbeWorkers:
    def __init__(
        self,
        count: int,
        log_level: str | None = None,
        always: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.count = max(0, count)
        self.clock: Clock = clock or SystemClock()  # load samples and restart delays
        self.always = always  # offload every probe, busy or not (tests, benchmarks)
        # workers log at the server's level unless told otherwise
        self._log_level = log_level or logging.getLevelName(logging.getLogger().getEffectiveLevel())
        self._workers: list[_Worker | None] = [None] * self.count
        self._crashes = [0] * self.count
        self._restarts: set[asyncio.Task[None]] = set()
        self._starting: set[int] = set()  # workers being started, or waiting to be restarted
        self._spawns: set[asyncio.Task[None]] = set()  # starts on need (stop waits for them)
        self._stopping = False
        self.started = 0  # worker processes started since the server started (restarts too)
        self.sent = 0  # jobs handed to workers
        self.offloading = False
        self._planned = False  # the plan asks for more than one loop carries: offload always
        self._lag = 0.0  # the worst timer lateness of the loop since the last sample
        self._lag_timer: asyncio.TimerHandle | None = None
        self._lag_due = float("inf")  # when the lag timer should run next (loop time)
        # The server is still starting (its first checks run while it opens its store): what
        # it uses meanwhile is not the checks' load and starts no worker (`started`).
        self._server_starting = False
        self._sample = (self.clock.monotonic(), *self._cpu())

    async def start(self) -> None:
        """Starts no worker (they start when first needed), except with `always`: then every
        probe goes to a worker from the first one."""
        if self.always:
            self._starting.update(range(self.count))
            await asyncio.gather(*(self._spawn(i) for i in range(self.count)))
        if self.count:
            self._watch_lag(asyncio.get_running_loop().time())

    def _watch_lag(self, expected: float) -> None:
        loop = asyncio.get_running_loop()
        self._lag = max(self._lag, loop.time() - expected)
        if not self._stopping:
            self._lag_due = loop.time() + LAG_EVERY
            self._lag_timer = loop.call_later(LAG_EVERY, self._watch_lag, self._lag_due)

    async def _spawn(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        env = {**os.environ, "AUGENMASS_LOG_LEVEL": self._log_level}
        try:
            async with asyncio.timeout(START_TIMEOUT):
                _, proto = await loop.subprocess_exec(
                    lambda: _Worker(self, index),
                    sys.executable,
                    "-m",
                    "augenmass.runner.worker",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=None,  # the worker logs to the server's stderr, in the same format
                    env=env,
                )
        except (OSError, TimeoutError) as exc:
            log.error("probe worker could not start", extra={"worker": index, "error": str(exc)})
            self._schedule_restart(index)
            return
        self._starting.discard(index)
        self._workers[index] = proto
        self.started += 1

    def _start_later(self, index: int) -> None:
        """Start worker `index` in the background; its checks run in the loop meanwhile."""
        if self._stopping or index in self._starting:
            return
        self._starting.add(index)
        task = asyncio.get_running_loop().create_task(self._spawn(index))
        self._spawns.add(task)
        task.add_done_callback(self._spawns.discard)

    def pick(self, key: object, kind: str) -> _Worker | None:
        """The live worker for this check, or None: run it in the server's loop (no workers,
        the server is not busy, or this worker is starting, restarting or ending)."""
        if not self.count:
            return None
        now = self.clock.monotonic()
        if now - self._sample[0] >= SAMPLE_SECONDS:
            self._update(now)
        stateful = kind in STATEFUL
        if not (self.offloading or self.always or stateful):
            return None
        index = hash(key) % self.count
        worker = self._workers[index]
        if worker is None:
            self._start_later(index)
            return None
        if worker.gone or worker.retiring:
            return None
        worker.used = now
        if stateful:
            worker.stateful = True
        return worker

    def _cpu(self) -> tuple[float, dict[int, float]]:
        """CPU seconds of the server process, and of each live worker. The workers count too:
        while they take the probes, the server's own share shows only what is left, and going
        by it alone would call the probes back the moment they were handed out."""
        # process_time: CPU time, not a clock reading
        return time.process_time(), {pid: _process_cpu(pid) for pid in self.pids()}

    def plan_rate(self, checks_per_second: float) -> None:
        """Start offloading at once when the configuration asks for more checks than one loop
        carries comfortably, instead of after a first second of lateness. Told when the checks
        are about to start: the load measured from here on is theirs, not the server's start
        (building its jobs blocks the loop for a moment: no reason to start a worker)."""
        self._measure_from_now()
        self._planned = checks_per_second >= BUSY_RATE
        if self._planned:
            self.offloading = True

    def server_starting(self) -> None:
        """The checks start before the server has opened its store and built its engine: that
        work is not load the checks make (it started a worker that an idle server then kept
        for five minutes, 40 MB at 500 services), so the samples wait for `server_started`."""
        self._server_starting = True

    def server_started(self) -> None:
        """The start is over: the load measured from here on is the checks'."""
        self._server_starting = False
        self._measure_from_now()

    def _measure_from_now(self) -> None:
        self._sample = (self.clock.monotonic(), *self._cpu())
        self._lag = 0.0
        if self._lag_timer is not None:  # its next run would count the start as lateness
            self._lag_timer.cancel()
            self._watch_lag(asyncio.get_running_loop().time())

    def _update(self, now: float) -> None:
        own, workers = self._cpu()
        then, own_then, workers_then = self._sample
        # A worker counts from its second sample on: the CPU of its start (imports) is not load.
        used = own - own_then
        for pid, cpu in workers.items():
            if pid in workers_then:
                used += cpu - workers_then[pid]
        share = used / (now - then)
        # a timer overdue right now counts too: a loop kept busy by one long callback never
        # gets to run it
        try:
            overdue = asyncio.get_running_loop().time() - self._lag_due
        except RuntimeError:  # asked outside the loop (never by the runner)
            overdue = 0.0
        lag, self._lag = max(self._lag, overdue), 0.0
        self._sample = (now, own, workers)
        if self._server_starting:
            return
        if self._planned:
            self.offloading = True
        elif self.offloading and share < LOW and lag < LAG_LOW:
            self.offloading = False
        elif not self.offloading and (share > HIGH or lag > LAG_HIGH):
            self.offloading = True
        if not (self.offloading or self.always):
            self._retire_idle(now)

    def _retire_idle(self, now: float) -> None:
        """End the workers that had no job for IDLE_RETIRE seconds (closing its stdin: it
        finishes what it has and exits); one is started again when a check needs it."""
        for worker in self._workers:
            if (
                worker is not None
                and not worker.gone
                and not worker.retiring
                and not worker.stateful
                and not worker.waiting
                and now - worker.used >= IDLE_RETIRE
            ):
                worker.retiring = True
                log.info("probe worker idle; ending it", extra={"worker": worker.index})
                if worker.stdin is not None:
                    worker.stdin.close()

    @property
    def alive(self) -> int:
        return sum(1 for w in self._workers if w is not None and not w.gone)

    async def run(
        self,
        worker: _Worker,
        kind: str,
        options: Mapping[str, Any],
        timeout: float,
        timeout_state: int,
        wait: float,
    ) -> ProbeOutcome | str:
        """The worker's answer (an outcome, or the text of an exception it caught). Raises
        WorkerGone, TimeoutError (no answer within `wait`), TypeError/ValueError (options that
        are not JSON data: the caller runs those in its own loop)."""
        job_id, fut = worker.submit(kind, options, timeout, timeout_state)
        self.sent += 1
        # a plain timer on the future: cheaper than a timeout scope per job
        timer = asyncio.get_running_loop().call_later(wait, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()
            if not fut.done() or worker.waiting.get(job_id) is fut:
                worker.waiting.pop(job_id, None)  # a late answer is dropped
                fut.cancel()

    def _exited(self, worker: _Worker, code: int | None) -> None:
        index = worker.index
        if worker.transport is not None:
            worker.transport.close()
        if self._workers[index] is worker:
            self._workers[index] = None
        if self._stopping or worker.retiring:
            return
        log.error("probe worker exited; restarting it", extra={"worker": index, "code": code})
        self._crashes[index] += 1
        self._schedule_restart(index)

    def _schedule_restart(self, index: int) -> None:
        if self._stopping:
            return
        self._starting.add(index)
        delay = RESTART_DELAYS[min(max(1, self._crashes[index]), len(RESTART_DELAYS)) - 1]

        async def restart() -> None:
            await self.clock.sleep(delay)
            if not self._stopping and self._workers[index] is None:
                await self._spawn(index)
            else:
                self._starting.discard(index)

        task = asyncio.get_running_loop().create_task(restart())
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    def pids(self) -> list[int]:
        return [
            w.transport.get_pid()
            for w in self._workers
            if w is not None and w.transport is not None and not w.gone
        ]

    async def stop(self, timeout: float = 5.0) -> None:
        """Close every worker's stdin (it exits on EOF); kill what is still there after
        `timeout`."""
        self._stopping = True
        if self._lag_timer is not None:
            self._lag_timer.cancel()
        for task in list(self._restarts):
            task.cancel()
        # a start under way ends in a worker (or a failure) within START_TIMEOUT: let it, so
        # that its process is closed below and not left behind
        await asyncio.gather(*self._spawns, return_exceptions=True)
        workers = [w for w in self._workers if w is not None]
        for w in workers:
            if w.stdin is not None:
                w.stdin.close()
        for w in workers:
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(w.exited)
            except TimeoutError:
                if w.transport is not None:
                    with contextlib.suppress(ProcessLookupError):
                        w.transport.kill()
            if w.transport is not None:
                w.transport.close()
        self._workers = [None] * self.count
