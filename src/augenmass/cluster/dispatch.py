"""The server's side of the workers: due jobs out to JetStream, answers in, figures.

`offer(job, zone)` returns the remote run of a due check when its zone has a live worker (a
heartbeat within LIVE_BEATS periods) and NATS is connected; otherwise None, and the server runs
the check itself, as on one box. A remote run waits for its answer at most until the job's
deadline plus its timeout (docs/workers.md, "Timing"); its result then goes the way of an
in-process result. Answers are matched to waiting jobs by job id, so a second copy of an
answer (a job run twice after a worker died) is counted and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from augenmass.cluster import topology, wire
from augenmass.cluster.bounded import within
from augenmass.cluster.figures import ClusterFigures, ZoneFigures
from augenmass.cluster.worker import BEAT_SECONDS, client_trouble
from augenmass.core.clock import Clock
from augenmass.core.plan import DEFAULT_ZONE, ClusterSettings
from augenmass.core.values import CheckJob, CheckKey, CheckResult

log = logging.getLogger("augenmass.cluster")

LIVE_BEATS = 3  # a worker is alive while its last heartbeat is younger than 3 periods
MARGIN = 2.0  # seconds added to deadlines for transport and clock skew
FIGURES_SECONDS = 5.0  # how often the consumers' figures are read
RECENT_IDS = 50_000  # answered job ids remembered, to tell a duplicate from a stray answer
PUBLISH_TIMEOUT = 2.0

LocalRun = Callable[[CheckJob], Awaitable[CheckResult | None]]


@dataclass
class _Waiting:
    future: asyncio.Future[CheckResult | None]
    zone: str
    key: CheckKey


@dataclass
class _Live:
    beat: wire.Beat
    seen: float  # monotonic


@dataclass
class _State:
    zones: dict[str, ZoneFigures] = field(default_factory=dict)
    duplicates: int = 0
    refused: int = 0


class Dispatch:
    def __init__(
        self,
        settings: ClusterSettings,
        clock: Clock,
        local: LocalRun,
        plugin_dirs: Sequence[str],
        output_limit: int,
    ) -> None:
        if settings.nats_url is None:
            raise ValueError("no cluster.nats.url")
        self.url = settings.nats_url
        self.prefix = settings.prefix
        self.clock = clock
        self._local = local
        self._settings = settings
        self._plugin_dirs = tuple(plugin_dirs)
        self._output_limit = output_limit
        self.server_id = uuid.uuid4().hex[:12]  # this process: its answers come to it alone
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = False
        self._task: asyncio.Task[None] | None = None
        self._waiting: dict[str, _Waiting] = {}
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._live: dict[str, _Live] = {}
        self._state = _State()
        self._zones_made: tuple[str, ...] = ()
        self._warned_unanswered = 0.0
        self._closing = False
        for zone in self.zones:
            self._zone(zone)

    @property
    def zones(self) -> tuple[str, ...]:
        return (DEFAULT_ZONE, *(z for z in self._settings.zones if z != DEFAULT_ZONE))

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connects in the background: the server starts (and checks) without NATS."""
        self._task = asyncio.create_task(self._connection(), name="cluster")

    async def stop(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await within(self._task, 5.0)
        for waiting in self._waiting.values():
            waiting.future.cancel()
        if self._nc is not None:
            # bounded: a stop must not hang on a NATS that does not answer
            await within(self._nc.close(), 5.0)

    def reload(self, settings: ClusterSettings, plugin_dirs: Sequence[str], limit: int) -> None:
        if (settings.nats_url, settings.prefix) != (self.url, self.prefix):
            log.warning("cluster.nats changed: it takes effect at the next restart")
        self._settings = settings
        self._plugin_dirs, self._output_limit = tuple(plugin_dirs), limit
        for zone in self.zones:
            self._zone(zone)
        if self._js is not None:
            task = asyncio.create_task(self._ensure(self._js), name="cluster topology")
            task.add_done_callback(_log_failure)

    async def _connection(self) -> None:
        delay = 0.5
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    self.url,
                    name="augenmass-server",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=client_trouble(
                        log, "NATS unreachable or refusing: the server checks every zone itself"
                    ),
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                )
            except Exception as exc:
                log.warning(
                    "cannot connect to NATS; the server runs every check itself meanwhile",
                    extra={"nats": wire.safe_url(self.url), "error": type(exc).__name__},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        js = self._js = self._nc.jetstream()
        while True:
            try:
                await self._ensure(js)
                break
            except Exception as exc:
                log.warning("cannot make the streams; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(2.0)
        await self._nc.subscribe(wire.workers_subject(self.prefix, "*"), cb=self._beat)
        sub = await js.pull_subscribe_bind(
            durable=wire.results_consumer(self.server_id), stream=wire.results_stream(self.prefix)
        )
        self._ready = True
        log.info("connected to NATS", extra={"nats": wire.safe_url(self.url)})
        figures = asyncio.create_task(self._read_figures(js), name="cluster figures")
        try:
            await self._take_answers(sub)
        finally:
            figures.cancel()

    async def _ensure(self, js: JetStreamContext) -> None:
        zones = self.zones
        await topology.ensure(js, self.prefix, zones, self._settings.ack_wait, self.server_id)
        self._zones_made = zones

    async def _disconnected(self) -> None:
        if self._closing:
            return
        log.warning("connection to NATS lost; the server runs every check itself meanwhile")

    async def _reconnected(self) -> None:
        log.info("reconnected to NATS")
        if self._js is not None:  # a NATS that lost its store lost the streams as well
            task = asyncio.create_task(self._ensure(self._js), name="cluster topology")
            task.add_done_callback(_log_failure)

    # --- jobs out ----------------------------------------------------------------------------

    def offer(self, job: CheckJob, zone: str) -> Awaitable[CheckResult | None] | None:
        """The remote run of `job`, or None: the server runs it itself."""
        nc = self._nc
        figures = self._zone(zone)
        if not self._ready or nc is None or not nc.is_connected or zone not in self._zones_made:
            figures.ran_here += 1
            return None
        if not self._zone_alive(zone):
            figures.ran_here += 1
            return None
        return self._remote(job, zone, figures)

    async def _remote(self, job: CheckJob, zone: str, figures: ZoneFigures) -> CheckResult | None:
        js = self._js
        assert js is not None
        job_id = uuid.uuid4().hex
        now = self.clock.now()
        timeout = job.check.timeout
        ack_wait = self._settings.ack_wait
        # one worker may die mid-job and the next still take it in time
        expires_at = now + timeout + ack_wait + MARGIN
        answer_within = (expires_at - now) + timeout + MARGIN
        future: asyncio.Future[CheckResult | None] = asyncio.get_running_loop().create_future()
        self._waiting[job_id] = _Waiting(future, zone, job.key)
        data = wire.encode_job(
            wire.Job(
                job_id,
                zone,
                self.server_id,
                job,
                expires_at,
                ack_wait,
                self._plugin_dirs,
                self._output_limit,
            )
        )
        try:
            try:
                await js.publish(
                    wire.jobs_subject(self.prefix, zone),
                    data,
                    timeout=PUBLISH_TIMEOUT,
                    headers={wire.MSG_ID: job_id},
                )
            except TimeoutError:
                # NATS is slow to confirm (overload), the job is most likely stored: wait for
                # its answer rather than run it here as well (which would add to the load)
                figures.unconfirmed += 1
            except Exception as exc:
                # not stored (disconnected, no stream): run it here; should a worker run it as
                # well, its answer finds no waiting job and is ignored
                log.debug("job not published", extra={"error": type(exc).__name__})
                figures.ran_here += 1
                return await self._local(job)
            figures.sent += 1
            try:
                return await asyncio.wait_for(future, answer_within)
            except TimeoutError:
                figures.unanswered += 1
                self._warn_unanswered(zone)
                return None
        finally:
            self._waiting.pop(job_id, None)

    def _warn_unanswered(self, zone: str) -> None:
        now = time.monotonic()
        if now - self._warned_unanswered > 60.0:  # once a minute, not once a check
            self._warned_unanswered = now
            log.warning("jobs not answered in time: checks not run", extra={"zone": zone})

    # --- answers in --------------------------------------------------------------------------

    async def _take_answers(self, sub: JetStreamContext.PullSubscription) -> None:
        failures = 0
        while True:
            try:
                msgs = await sub.fetch(batch=512, timeout=1.0)
                failures = 0
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # disconnected: the client reconnects, the stream keeps them
                failures += 1
                await asyncio.sleep(min(0.2 * failures, 2.0))
                continue
            for msg in msgs:
                self.receive(msg.subject, msg.data)
                with contextlib.suppress(Exception):
                    await msg.ack()

    def receive(self, subject: str, data: bytes) -> None:
        """One answer from the results stream (public for the tests of bad answers)."""
        parts = subject.split(".")
        zone = parts[-2] if len(parts) >= 2 else ""  # {prefix}.results.{zone}.{server}
        try:
            answer = wire.decode_answer(data)
        except wire.WireError as exc:
            self._state.refused += 1
            log.warning("answer refused", extra={"zone": zone, "error": str(exc)})
            return
        waiting = self._waiting.get(answer.id)
        if waiting is not None and (
            waiting.zone != zone or (answer.result is not None and answer.result.key != waiting.key)
        ):
            # a worker answering for a job of another zone or check: not its to answer
            self._state.refused += 1
            log.warning("answer refused: not this zone's job", extra={"zone": zone})
            return
        figures = self._zone(zone) if zone in self._state.zones else None
        if answer.kind == wire.EXPIRED and figures is not None:
            figures.expired += 1
        if waiting is None:
            if answer.id in self._answered:
                self._state.duplicates += 1
            return  # answered already, or of a job the server no longer waits for
        del self._waiting[answer.id]
        self._answered[answer.id] = None
        if len(self._answered) > RECENT_IDS:
            self._answered.popitem(last=False)
        if answer.kind == wire.RESULT:
            self._zone(zone).results += 1
            if answer.deliveries > 1:
                self._zone(zone).redelivered += 1
        if not waiting.future.done():
            waiting.future.set_result(answer.result)

    async def _beat(self, msg: Msg) -> None:
        zone = msg.subject.rsplit(".", 1)[-1]
        try:
            beat = wire.decode_beat(msg.data)
        except wire.WireError:
            return
        if beat.zone != zone:
            return  # the subject's zone is the one the worker's NATS user may speak for
        self._live[beat.worker] = _Live(beat, time.monotonic())

    def _zone_alive(self, zone: str) -> bool:
        limit = time.monotonic() - LIVE_BEATS * BEAT_SECONDS
        return any(live.seen >= limit and live.beat.zone == zone for live in self._live.values())

    # --- figures -----------------------------------------------------------------------------

    def _zone(self, zone: str) -> ZoneFigures:
        found = self._state.zones.get(zone)
        if found is None:
            found = self._state.zones[zone] = ZoneFigures(zone)
        return found

    async def _read_figures(self, js: JetStreamContext) -> None:
        stream = wire.jobs_stream(self.prefix)
        while True:
            for zone in self._zones_made:
                with contextlib.suppress(Exception):
                    info = await js.consumer_info(stream, wire.jobs_consumer(zone), timeout=2)
                    figures = self._zone(zone)
                    figures.waiting = info.num_pending or 0
                    figures.at_workers = info.num_ack_pending or 0
            await asyncio.sleep(FIGURES_SECONDS)

    def figures(self) -> ClusterFigures:
        limit = time.monotonic() - LIVE_BEATS * BEAT_SECONDS
        for live_id in [w for w, live in self._live.items() if live.seen < limit - 600]:
            del self._live[live_id]  # long gone: forget
        for figures in self._state.zones.values():
            beats = [
                live.beat
                for live in self._live.values()
                if live.seen >= limit and live.beat.zone == figures.zone
            ]
            figures.workers = len(beats)
            figures.running = sum(b.running for b in beats)
            figures.slots = sum(b.slots for b in beats)
            figures.load1 = max((b.load1 for b in beats), default=0.0)
        nc = self._nc
        return ClusterFigures(
            connected=bool(self._ready and nc is not None and nc.is_connected),
            nats=wire.safe_url(self.url),
            zones=tuple(
                ZoneFigures(**vars(f))
                for z, f in sorted(self._state.zones.items())
                if z in self.zones or f.sent or f.ran_here
            ),
            duplicates=self._state.duplicates,
            refused=self._state.refused,
        )

    def write_figures(self, path: Path) -> None:
        """The figures for `augenmass status` (which reads no NATS): replaced atomically."""
        figures = self.figures()
        body: dict[str, Any] = {
            "written_at": self.clock.now(),
            "connected": figures.connected,
            "nats": figures.nats,
            "duplicates": figures.duplicates,
            "refused": figures.refused,
            "zones": [vars(z) for z in figures.zones],
        }
        temp = path.with_name(path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, orjson.dumps(body))
        finally:
            os.close(fd)
        os.replace(temp, path)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("cluster task failed", extra={"error": repr(task.exception())})
