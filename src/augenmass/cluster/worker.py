"""`augenmass worker`: take check jobs of one zone from JetStream, run them, send the results.

The worker has no config: the job carries the check, its macros, the plugin directories and its
deadline. Delivery is at least once: a job is acknowledged only after its answer was stored in
the results stream; a worker that dies leaves its jobs unacknowledged, and JetStream hands them
to another worker after the ack wait (a running job signals "in progress" every third of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from augenmass.cluster import wire
from augenmass.cluster.bounded import within
from augenmass.core.clock import Clock, SystemClock
from augenmass.core.plan import DEFAULT_ZONE
from augenmass.core.secretkeys import install, secrets_in
from augenmass.runner import Runner

log = logging.getLogger("augenmass.worker")

BEAT_SECONDS = 2.0  # heartbeat period; the server counts a worker alive for 3 of them
FETCH_WAIT = 1.0  # one pull request's wait: bounds how long a stop waits for the fetch loop
PUBLISH_TIMEOUT = 2.0


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class WorkerOptions:
    url: str
    zone: str = DEFAULT_ZONE
    prefix: str = "augenmass"
    name: str = field(default_factory=default_name)
    concurrency: int = 64  # jobs in flight at once
    stop_grace: float = 10.0  # on SIGTERM: how long running jobs may finish before a nak


@dataclass
class _Flight:
    msg: Msg
    job: wire.Job | None = None


class Worker:
    def __init__(self, options: WorkerOptions, clock: Clock | None = None) -> None:
        self.options = options
        install(secrets_in(options.url))  # the NATS URL's password
        self.clock: Clock = clock or SystemClock()
        self._stopping = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._flights: dict[asyncio.Task[None], _Flight] = {}
        self._runners: dict[tuple[tuple[str, ...], int], Runner] = {}
        self._nc: Client | None = None
        self.done = 0  # jobs answered (run or expired)
        self.expired = 0
        self.connected = asyncio.Event()  # set once bound to the zone's jobs (tests wait on it)
        self.failed: str | None = None  # why it ended without being asked to (exit code 1)

    def stop(self) -> None:
        """Take no more jobs; `run()` lets the running ones finish (bounded) and returns."""
        self._stopping.set()
        self._slot_free.set()

    async def run(self) -> None:
        opts = self.options
        nc = await self._connect()
        if nc is None:
            return
        self._nc = nc
        log.info(
            "worker started",
            extra={"zone": opts.zone, "worker": opts.name, "nats": wire.safe_url(opts.url)},
        )
        beat = asyncio.create_task(self._beats(nc), name="heartbeat")
        try:
            await self._take_jobs(nc.jetstream())
            await self._finish()
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            # close, not drain: a pull subscription's drain waits for a queue nobody empties
            await within(nc.close(), 5.0)
            log.info("worker stopped", extra={"worker": opts.name, "jobs": self.done})

    async def _connect(self) -> Client | None:
        """Connected, or None when stopped first. The client retries by itself (forever, also
        the first time), so a stop must be able to end the wait."""
        opts = self.options
        connecting = asyncio.create_task(
            nats.connect(
                opts.url,
                name=f"augenmass-worker {opts.name}",
                inbox_prefix=wire.inbox_prefix(opts.prefix, opts.zone).encode(),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                error_cb=client_trouble(log, "NATS unreachable or refusing; retrying"),
                disconnected_cb=self._disconnected,
                reconnected_cb=self._reconnected,
            ),
            name="connect",
        )
        stopping = asyncio.create_task(self._stopping.wait(), name="stopping")
        await asyncio.wait((connecting, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
            return None
        try:
            return connecting.result()
        except Exception as exc:  # e.g. a URL the client cannot use
            log.error("cannot connect to NATS", extra={"error": _why(exc)})
            self.failed = f"cannot connect to NATS: {_why(exc)}"
            return None

    async def _take_jobs(self, js: JetStreamContext) -> None:
        opts = self.options
        sub = await js.pull_subscribe_bind(
            durable=wire.jobs_consumer(opts.zone),
            stream=wire.jobs_stream(opts.prefix),
            inbox_prefix=(wire.inbox_prefix(opts.prefix, opts.zone) + ".").encode(),
        )
        self.connected.set()
        failures = 0
        while not self._stopping.is_set():
            free = opts.concurrency - len(self._flights)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                msgs = await sub.fetch(batch=min(free, 256), timeout=FETCH_WAIT)
                failures = 0
            except TimeoutError:
                continue  # nothing to do (or no consumer yet: the server makes it)
            except Exception as exc:  # disconnected, permission: back off, the client reconnects
                failures += 1
                if failures == 1:
                    log.warning("cannot take jobs", extra={"error": _why(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), min(0.2 * failures, 2.0))
                continue
            for msg in msgs:
                flight = _Flight(msg)
                task = asyncio.create_task(self._handle(js, flight), name="job")
                self._flights[task] = flight
                task.add_done_callback(self._landed)

    async def _disconnected(self) -> None:
        if not self._stopping.is_set():  # closing at the end is no news
            log.warning("connection to NATS lost; reconnecting")

    async def _reconnected(self) -> None:
        log.info("reconnected to NATS")

    def _landed(self, task: asyncio.Task[None]) -> None:
        self._flights.pop(task, None)
        self._slot_free.set()

    async def _finish(self) -> None:
        """Stopping: running jobs get `stop_grace` to finish; the rest go back (nak) at once,
        so another worker takes them without waiting for the ack wait."""
        if not self._flights:
            return
        _, late = await asyncio.wait(list(self._flights), timeout=self.options.stop_grace)
        flights = [(t, self._flights.get(t)) for t in late]
        for task, _ in flights:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for _, flight in flights:
            if flight is not None:
                with contextlib.suppress(Exception):
                    await flight.msg.nak()
        if late:
            log.info("jobs handed back", extra={"jobs": len(late)})

    async def _handle(self, js: JetStreamContext, flight: _Flight) -> None:
        msg = flight.msg
        try:
            job = flight.job = wire.decode_job(msg.data)
        except wire.WireError as exc:
            log.error("job refused", extra={"error": str(exc)})
            with contextlib.suppress(Exception):
                await msg.term()  # never hand a malformed job out again
            return
        install(secrets_in(job.job.check.options))  # redacted in this worker's logs too
        deliveries = msg.metadata.num_delivered
        if job.zone != self.options.zone:
            log.error("job of another zone refused", extra={"zone": job.zone})
            with contextlib.suppress(Exception):
                await msg.term()
            return
        if self.clock.now() > job.expires_at:
            # Too late to be useful: run nothing, tell the server (it counts and shows it).
            self.expired += 1
            answer = wire.Answer(job.id, wire.EXPIRED, self.options.name, deliveries)
        else:
            keep = asyncio.create_task(_keep_alive(msg, job.ack_wait), name="in-progress")
            try:
                result = await self._runner(job).run(job.job)
            finally:
                keep.cancel()
            answer = wire.Answer(job.id, wire.RESULT, self.options.name, deliveries, result)
        if await self._answer(js, job, answer):
            self.done += 1
            with contextlib.suppress(Exception):
                await msg.ack()

    async def _answer(self, js: JetStreamContext, job: wire.Job, answer: wire.Answer) -> bool:
        """Store the answer in the results stream (its job id makes a second copy a no-op);
        retried while the server may still wait for it."""
        subject = wire.results_subject(self.options.prefix, self.options.zone, job.server)
        data = wire.encode_answer(answer)
        give_up = job.expires_at + job.job.check.timeout + 2 * job.ack_wait
        while True:
            try:
                await js.publish(
                    subject, data, timeout=PUBLISH_TIMEOUT, headers={wire.MSG_ID: job.id}
                )
                return True
            except Exception as exc:
                if self.clock.now() > give_up:
                    log.warning("answer not sent: NATS unreachable", extra={"error": _why(exc)})
                    return False
                await asyncio.sleep(0.5)

    def _runner(self, job: wire.Job) -> Runner:
        found = (job.plugin_dirs, job.output_limit)
        runner = self._runners.get(found)
        if runner is None:
            runner = self._runners[found] = Runner(job.plugin_dirs, job.output_limit, self.clock)
        return runner

    async def _beats(self, nc: Client) -> None:
        opts = self.options
        subject = wire.workers_subject(opts.prefix, opts.zone)
        while True:
            beat = wire.Beat(
                opts.name, opts.zone, len(self._flights), opts.concurrency, self.done, _load1()
            )
            with contextlib.suppress(Exception):
                await nc.publish(subject, wire.encode_beat(beat))
            await asyncio.sleep(BEAT_SECONDS)


async def _keep_alive(msg: Msg, ack_wait: float) -> None:
    """Tell JetStream the job is still running, every third of the ack wait: only a worker that
    stopped answering has its job handed out again, however long the check takes."""
    while True:
        await asyncio.sleep(max(0.2, ack_wait / 3))
        with contextlib.suppress(Exception):
            await msg.in_progress()


def _load1() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def _why(exc: BaseException) -> str:
    # exception names only: a message could quote the URL (and its password)
    return type(exc).__name__


def client_trouble(logger: logging.Logger, text: str) -> Callable[[Exception], Awaitable[None]]:
    """The NATS client's error callback: it reports every failed (re)connect attempt (twice
    a second while NATS is away) and every refused permission. Said once a minute, with the
    error's type only (a message could quote the URL and its password)."""
    said = float("-inf")

    async def trouble(exc: Exception) -> None:
        nonlocal said
        now = time.monotonic()
        if now - said >= 60.0:
            said = now
            logger.warning(text, extra={"error": _why(exc)})
        else:
            logger.debug(text, extra={"error": _why(exc)})

    return trouble
