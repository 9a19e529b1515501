"""The check scheduler: one asyncio loop over a min-heap of monotonic due times.

Rescheduling rule: the next check of a key is due at (start of this run + interval), where the
interval is what `on_result` returned (the engine's check or retry interval) or else the
template's. Counting from the start keeps each key on its phase instead of drifting by the run
time. If the run took longer than the interval, the next run is due at once (never in the past)
and counted as an overrun. Forced freshness checks of passive-only keys are due
`freshness_threshold` after the later of the last run's start and the last passive result.

Due times live on `clock.monotonic()`, so wall-clock jumps neither burst nor stall checks.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Generator, Mapping

from augenmass.core.clock import Clock
from augenmass.core.plan import TimePeriodLike
from augenmass.core.values import CheckJob, CheckKey, CheckResult
from augenmass.scheduler.duequeue import DueQueue
from augenmass.scheduler.jobs import JobTemplate, positive_seconds
from augenmass.scheduler.spread import clamp_remaining, first_delay
from augenmass.scheduler.stats import LatenessWindow, SchedulerStats

log = logging.getLogger(__name__)

# A check that started this much after its due time counts its next interval from its start.
_MAX_PHASE_SLIP = 1.0

COALESCE_BATCH = 8  # checks per wake-up the adaptive coalescing window aims for
# Built-in probes are coroutines in the server's loop or a worker, no processes: their slots are
# sized from the rate the plan asks for, so that a check may take this long on average before
# the slots run out (a local HTTP check takes milliseconds). Not more: past what the CPU does,
# more checks in flight only make each slower until they time out; a bound makes them start
# late instead, which is reported. Plugins keep the fixed `max_concurrency`: each is a process.
PROBE_SLOT_SECONDS = 0.25
PROBE_SLOTS_MAX = 8192  # the safety bound over everything in flight (sockets, memory)
PLUGIN = "plugin"
PLACE_CHUNK = 2500  # keys per step of a sliced set_jobs: a few ms of work each
# None: nothing to report this time (a dead-man check asked early); rescheduled as usual.
RunFn = Callable[[CheckJob], Awaitable[CheckResult | None]]
OnResultFn = Callable[[CheckResult], Awaitable[float | None]]


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        run: RunFn,
        on_result: OnResultFn,
        max_concurrency: int = 256,
        max_spread: float = 60.0,
        rng: random.Random | None = None,
        lateness_window: float = 60.0,
        coalesce: float = 0.0,
        coalesce_max: float | None = None,
        probe_slots: int | None = None,
    ) -> None:
        """`coalesce`: sleep this much past the next due time, so the checks due within it
        start in one wake-up (a loop iteration per check costs more than the check at low
        rates); it adds at most that much lateness. With `coalesce_max`, the window grows up to
        that at low rates, so that a wake-up still starts about COALESCE_BATCH checks: a
        server doing little then wakes less often and runs its work warm, in bursts.

        `max_concurrency` bounds the plugin checks in flight (processes). All checks together,
        built-in probes included, are bounded by `probe_slots`; not given, it is sized from the
        plan's rate (rate x PROBE_SLOT_SECONDS, at least `max_concurrency`, at most
        PROBE_SLOTS_MAX), so a fixed count no longer caps cheap probes below what the CPU does."""
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        if probe_slots is not None and probe_slots < 1:
            raise ValueError(f"probe_slots must be at least 1, got {probe_slots!r}")
        self._clock = clock
        self._run_check = run
        self._on_result = on_result
        self._max = max_concurrency  # plugins in flight
        self._probe_slots = probe_slots
        self._limit = max(max_concurrency, probe_slots or 0)  # everything in flight
        self._plugins = 0  # plugin checks in flight
        # due plugin checks that found every plugin slot taken, in due order: they start before
        # anything else once a plugin slot is free (probes behind them need not wait)
        self._held: dict[CheckKey, float] = {}
        self._max_spread = max_spread
        self._coalesce = self._coalesce_min = max(0.0, coalesce)
        self._coalesce_max = max(self._coalesce_min, coalesce_max or 0.0)
        self._rng = rng if rng is not None else random.Random()
        self._jobs: dict[CheckKey, JobTemplate] = {}
        self._queue = DueQueue()
        self._running: dict[CheckKey, tuple[asyncio.Task[None], float]] = {}  # task, due
        self._manual: set[CheckKey] = set()  # re-check requested; due now, not moved by others
        self._last_passive: dict[CheckKey, float] = {}
        self._lateness = LatenessWindow(lateness_window)
        self._wake = _Wakeup(clock)
        # When the sleeping loop will look next (inf: only a wake-up); pushing an earlier due
        # time must wake it, a later one need not.
        self._loop_deadline = float("-inf")
        self._stopped = False
        self._looping = False
        self._started = 0
        self._completed = 0
        self._errors = 0
        self._overruns = 0

    # --- configuration -------------------------------------------------------------------

    def set_jobs(self, jobs: Mapping[CheckKey, JobTemplate]) -> None:
        """Initial load and reload. Kept keys keep their due time (a wait longer than a shortened
        interval is folded into it), new keys are spread, gone keys are dropped; a running check
        of a gone key still finishes and reports, but is not rescheduled."""
        for _ in self.set_jobs_steps(jobs, len(jobs) + 1):
            pass

    def set_jobs_steps(
        self, jobs: Mapping[CheckKey, JobTemplate], chunk: int = PLACE_CHUNK
    ) -> Generator[None, None, None]:
        """`set_jobs` in steps of `chunk` keys, yielding between them, so that the event loop
        (and this scheduler's own loop) runs in between: placing 30,000 keys at once held it up
        for 80-110 ms. The new jobs count from the first step on: a kept key that falls due
        before it is placed starts with its new template, and is placed when it is done (as
        a running key always is); a new key that is not placed yet is not due yet."""
        items = list(jobs.items())
        for start in range(0, len(items), chunk):  # all of them before anything changes
            for key, template in items[start : start + chunk]:
                if template.key is not key and template.key != key:
                    raise ValueError(f"job under key {key} holds a template for {template.key}")
            yield
        self._unhold()  # placed like every other queued key
        old, self._jobs = self._jobs, dict(jobs)
        for key in old.keys() - self._jobs.keys():
            self._queue.remove(key)
            self._manual.discard(key)
            self._last_passive.pop(key, None)
        for start in range(0, len(items), chunk):
            yield
            now = self._clock.monotonic()
            running, place = self._running, self._place
            for key, template in items[start : start + chunk]:
                # a running key is placed from the new template when it is done; a key whose
                # job changed again meanwhile (a later set_jobs) is that one's to place
                if key not in running and self._jobs.get(key) is template:
                    place(key, template, old.get(key), now)
            self._wake.set()  # the loop looks again: a key just placed may be due first
        rate = sum(1.0 / t.interval for t in self._jobs.values() if t.active)
        if self._probe_slots is None:
            sized = math.ceil(rate * PROBE_SLOT_SECONDS - 1e-6)  # not 11 for 600 a minute
            self._limit = max(self._max, min(PROBE_SLOTS_MAX, sized))
        wanted = COALESCE_BATCH / rate if rate > 0 else self._coalesce_max
        self._coalesce = min(self._coalesce_max, max(self._coalesce_min, wanted))
        self._wake.set()

    def _place(
        self, key: CheckKey, template: JobTemplate, previous: JobTemplate | None, now: float
    ) -> None:
        due = self._queue.due_of(key)
        if key in self._manual and due is not None:
            return
        if not template.schedulable:
            self._queue.remove(key)
            return
        if template.active:
            kept = previous is not None and previous.active and due is not None
            wait = template.interval
        else:
            kept = previous is not None and previous.forced_only and due is not None
            wait = template.freshness_threshold or 0.0
        if kept and due is not None:
            new_due = now + clamp_remaining(due - now, wait)
        elif template.active:
            new_due = now + first_delay(wait, self._max_spread, self._rng)
        else:
            # Never had a passive result: the threshold counts from now (Nagios: program start).
            new_due = max(now, self._last_passive.get(key, now) + wait)
        if new_due != due:
            self._queue.push(key, new_due)

    # --- requests --------------------------------------------------------------------------

    def check_now(self, key: CheckKey) -> bool:
        """Make `key` due immediately (also a passive-only key). False, and nothing happens, if
        `key` has no job (e.g. a host without a check) or is running now: the result in flight
        is the re-check, and a key never runs twice at once."""
        if key not in self._jobs or key in self._running:
            return False
        self._manual.add(key)
        self._push(key, self._clock.monotonic())
        return True

    def running(self, key: CheckKey) -> bool:
        """Whether a check of `key` is in flight now."""
        return key in self._running

    def note_passive(self, key: CheckKey, at_monotonic: float | None = None) -> None:
        """A passive result for `key` arrived (at `at_monotonic`, default now): push its forced
        freshness check back to that time + freshness_threshold. No effect on active keys."""
        template = self._jobs.get(key)
        if template is None or template.freshness_threshold is None or template.active:
            return
        now = self._clock.monotonic()
        at = at_monotonic if at_monotonic is not None and math.isfinite(at_monotonic) else now
        latest = max(at, self._last_passive.get(key, at))
        self._last_passive[key] = latest
        if key in self._running or key in self._manual:
            return
        new_due = max(now, latest + template.freshness_threshold)
        old_due = self._queue.due_of(key)
        if old_due != new_due:
            self._push(key, new_due)

    def next_check(self, key: CheckKey) -> float | None:
        """Wall-clock time of the next scheduled check of `key` (None: running or none)."""
        due = self._queue.due_of(key)
        if due is None:
            due = self._held.get(key)  # due, waiting for a plugin slot
        if due is None:
            return None
        return self._clock.now() + (due - self._clock.monotonic())

    def stop(self) -> None:
        """Make `run()` return promptly: no new checks start and checks in flight are cancelled
        (their keys stay scheduled, due at their old time). Final: a `run()` called after
        `stop()`, even one whose task had not started yet, returns at once."""
        self._stopped = True
        self._wake.set()

    # --- statistics ------------------------------------------------------------------------

    @property
    def stats(self) -> SchedulerStats:
        now = self._clock.monotonic()
        samples, p50, p99, worst = self._lateness.figures(now)
        return SchedulerStats(
            jobs=len(self._jobs),
            checks_started=self._started,
            checks_completed=self._completed,
            errors=self._errors,
            in_flight=len(self._running),
            queued=self._queue.count_due(now) + len(self._held),
            overruns=self._overruns,
            lateness_samples=samples,
            lateness_p50=p50,
            lateness_p99=p99,
            lateness_max=worst,
        )

    def pop_lateness_samples(self) -> list[float]:
        """Lateness (start - due, seconds) of every start since the last call."""
        return self._lateness.pop_samples()

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Start due checks until `stop()`; cancellation-safe (in-flight checks are cancelled)."""
        if self._looping:
            raise RuntimeError("Scheduler.run() is already running")
        self._looping = True
        try:
            while not self._stopped:
                self._wake.clear()
                self._start_due()
                delay = self._next_delay()
                if delay:
                    delay += self._coalesce
                now = self._clock.monotonic()
                self._loop_deadline = float("inf") if delay is None else now + delay
                await self._wait(delay)
                self._loop_deadline = float("-inf")  # awake: every push counts until we sleep
        finally:
            self._looping = False
            await self._cancel_in_flight()

    def _start_due(self) -> None:
        now = self._clock.monotonic()
        held, jobs = self._held, self._jobs
        while len(self._running) < self._limit:
            if held and self._plugins < self._max:
                key = next(iter(held))
                due = held.pop(key)
                # gone, or placed again meanwhile (a reload, a re-check): its queue entry counts
                if key in jobs and key not in self._running and key not in self._queue:
                    self._start(key, due, now)
                continue
            top = self._queue.peek()
            if top is None or top[0] > now:
                return
            due, key = self._queue.pop()
            template = jobs[key]
            period = template.period
            if period is not None and key not in self._manual and self._outside(key, period, now):
                continue
            if template.check.type == PLUGIN and self._plugins >= self._max:
                held[key] = due
                continue
            self._start(key, due, now)

    def _outside(self, key: CheckKey, period: TimePeriodLike, now: float) -> bool:
        """A check due outside its check_period is due again at the period's next start (as
        Nagios reschedules it), or never, for a period without a future (a reload that
        changes the period places it anew). True: not started now."""
        wall = self._clock.now()
        if period.contains(wall):
            return False
        start = period.next_inside(wall)
        if start is not None and start <= wall:
            return False  # a period that says "now" after all: run
        if start is not None:
            self._queue.push(key, now + (start - wall))
        return True

    def _start(self, key: CheckKey, due: float, now: float) -> None:
        template = self._jobs[key]
        if template.check.type == PLUGIN:
            self._plugins += 1
        self._manual.discard(key)
        self._started += 1
        self._lateness.add(now, max(0.0, now - due))
        due_at = self._clock.now() + (due - now)
        job = CheckJob(key, template.check, template.macros, due_at=due_at)
        task = asyncio.create_task(self._execute(job, due, now), name=f"check {key}")
        self._running[key] = (task, due)

    def _next_delay(self) -> float | None:
        """Seconds until the next start; None = only a wake-up can change anything."""
        if len(self._running) >= self._limit:
            return None  # a finishing check wakes us
        top = self._queue.peek()
        if top is None:
            return None
        return max(0.0, top[0] - self._clock.monotonic())

    async def _wait(self, delay: float | None) -> None:
        await self._wake.wait(delay)

    def _push(self, key: CheckKey, due: float) -> None:
        self._queue.push(key, due)
        if due < self._loop_deadline:
            self._wake.set()

    async def _cancel_in_flight(self) -> None:
        flights = dict(self._running)
        for task, _ in flights.values():
            task.cancel()
        if flights:
            await asyncio.gather(*(task for task, _ in flights.values()), return_exceptions=True)
        # A task cancelled before its first step never ran its own clean-up.
        for key in [k for k in flights if k in self._running]:
            del self._running[key]
            self._requeue(key, flights[key][1])
        self._plugins = 0
        self._unhold()

    def _unhold(self) -> None:
        """Held plugin checks back into the queue at their due times."""
        held, self._held = self._held, {}
        for key, due in held.items():
            if key not in self._running and key not in self._queue:
                self._requeue(key, due)

    # --- one check -------------------------------------------------------------------------

    async def _execute(self, job: CheckJob, due: float, start: float) -> None:
        interval: float | None = None
        cancelled = False
        try:
            result = await self._guarded_run(job)
            if result is not None:
                interval = await self._guarded_on_result(job.key, result)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            was_full = len(self._running) >= self._limit
            if job.check.type == PLUGIN:
                self._plugins -= 1
                was_full = was_full or bool(self._held)  # a held plugin check may start
            self._running.pop(job.key, None)
            if cancelled:
                self._requeue(job.key, due)
            else:
                self._completed += 1
                # Keep the phase: count the interval from the due time, unless the check
                # started very late (overload), where catching up would cause a burst.
                base = due if start - due < _MAX_PHASE_SLIP else start
                self._reschedule(job.key, base, interval)
            if was_full:
                self._wake.set()  # a slot is free for the queued checks

    async def _guarded_run(self, job: CheckJob) -> CheckResult | None:
        try:
            return await self._run_check(job)
        except Exception:
            self._errors += 1
            log.exception("check %s: the runner raised; rescheduled without a result", job.key)
            return None

    async def _guarded_on_result(self, key: CheckKey, result: CheckResult) -> float | None:
        try:
            interval = await self._on_result(result)
        except Exception:
            self._errors += 1
            log.exception("check %s: handling its result raised; rescheduled", key)
            return None
        # Anything but a usable number of seconds (a bug in the ingest path) means "template".
        usable = isinstance(interval, int | float) and not isinstance(interval, bool)
        return interval if usable and positive_seconds(interval) else None

    def _requeue(self, key: CheckKey, due: float) -> None:
        template = self._jobs.get(key)
        if template is not None and template.schedulable:
            self._push(key, due)

    def _reschedule(self, key: CheckKey, start: float, interval: float | None) -> None:
        template = self._jobs.get(key)
        if template is None or not template.schedulable or key in self._queue:
            return
        if template.active:
            due = start + (interval if interval is not None else template.interval)
        else:
            base = max(start, self._last_passive.get(key, start))
            due = base + (template.freshness_threshold or 0.0)
        now = self._clock.monotonic()
        if due < now:
            due = now
            self._overruns += 1
        self._push(key, due)


class _Wakeup:
    """An Event whose wait also ends after a delay on the injected clock.

    The loop sleeps once per started check at low rates; one sleeper task per wait (cancelled
    by set()) costs a third of two tasks plus asyncio.wait."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._flag = False
        self._event = asyncio.Event()
        self._sleeper: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._flag = True
        self._event.set()
        if self._sleeper is not None and not self._sleeper.done():
            self._sleeper.cancel()

    def clear(self) -> None:
        self._flag = False
        self._event.clear()

    def is_set(self) -> bool:
        return self._flag

    async def wait(self, delay: float | None) -> None:
        if self._flag:
            return
        if delay is None:
            await self._event.wait()
            return
        self._sleeper = sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        try:
            await sleeper
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if self._flag and (me is None or not me.cancelling()):
                return  # woken by set(), not cancelled from outside
            raise
        finally:
            self._sleeper = None
