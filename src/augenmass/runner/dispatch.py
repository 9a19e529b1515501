"""`Runner.run(job)`: one check in, one CheckResult out. It never raises for a check problem:
setup errors, bad options, timeouts and probe exceptions all become results."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from augenmass.core.childenv import plugin_env
from augenmass.core.clock import Clock, SystemClock
from augenmass.core.pluginoutput import NO_OUTPUT, NO_OUTPUT_HOST, sanitize
from augenmass.core.values import CheckJob, CheckResult, PerfDatum
from augenmass.probes import ProbeSet
from augenmass.probes.base import ProbeOutcome, options_key, reserve_options
from augenmass.runner.macros import Macros, expand_argv, unknown_note, with_defaults
from augenmass.runner.plugin import (
    PluginLocator,
    PluginOutcome,
    exec_error_text,
    problem_before_exec,
    run_plugin,
)
from augenmass.runner.pool import ProbeWorkers, WorkerGone
from augenmass.runner.probecall import PROBE_GRACE, call_probe

log = logging.getLogger(__name__)

UNKNOWN = 3
WORKER_GRACE = 2.0  # beyond the probe's own hard stop: how long a worker may take to answer
# No I/O: handing these to a worker costs more than running them.
IN_PROCESS = frozenset({"dummy"})
EXPANDED_MAX = 200_000


class Runner:
    def __init__(
        self,
        plugin_dirs: Sequence[str],
        output_limit: int = 65536,
        clock: Clock | None = None,
        workers: ProbeWorkers | None = None,
    ) -> None:
        self.locator = PluginLocator(plugin_dirs)
        self.output_limit = max(1, output_limit)
        self.clock: Clock = clock or SystemClock()
        self.probes = ProbeSet(self.clock)  # built-in probes run on the runner's clock
        self._env = plugin_env()
        self.workers = workers
        # A worker process has only the system clock: on any other, probes stay in this loop,
        # so a result does not depend on where the probe ran.
        self._offload = type(self.clock) is SystemClock
        # Jobs with macros of another kind (tests, passed-in dicts):
        # id(macros) -> (spec, macros, options, notes). Every job has macros of its own (its
        # spec may be shared by an apply rule's checks), so their id alone keys it: a tuple of
        # two ids cost 90 bytes more per check. The objects are kept so an id cannot be reused
        # by others while its entry exists; a hit needs both to be the ones kept.
        self._expanded: dict[int, tuple[object, object, Mapping[str, Any], tuple[str, ...]]] = {}
        # hash of options_key -> the one read-only view of those expanded options: checks
        # whose options come out the same (apply rules on a fixed target, dummy and local checks)
        # share one copy, and the probes' memos one entry, instead of one each
        self._shared: dict[int, MappingProxyType[str, Any]] = {}
        self._expansions = 0  # made since the caches were last cleared
        self._reserved = 0

    async def run(self, job: CheckJob) -> CheckResult:
        started, t0 = self.clock.now(), self.clock.monotonic()
        try:
            if job.check.type == "plugin":
                outcome = await self._plugin(job)
            else:
                outcome = await self._probe(job)
        except Exception as exc:  # never crash the scheduler over one check
            log.exception("check %s failed inside the runner", job.key)
            outcome = PluginOutcome(UNKNOWN, f"internal error: {type(exc).__name__}: {exc}")
        return CheckResult(
            key=job.key,
            status=outcome.status,
            output=outcome.output,
            long_output=outcome.long_output,
            perfdata=_perfdata(outcome.perfdata),
            started_at=started,
            duration=max(0.0, self.clock.monotonic() - t0),
            truncated=outcome.truncated,
            notes=outcome.notes,
        )

    async def _plugin(self, job: CheckJob) -> PluginOutcome:
        check = job.check
        argv, unknown = expand_argv(check.command, job.macros)
        notes: tuple[str, ...] = (unknown_note(unknown),) if unknown else ()
        if not argv or not argv[0]:
            return PluginOutcome(UNKNOWN, "plugin check has no command", notes=notes)
        path = self.locator.locate(argv[0])
        problem = f"plugin not found: {argv[0]}" if path is None else problem_before_exec(path)
        if path is None or problem is not None:
            return PluginOutcome(check.exit_code_state, problem or "", notes=notes)
        try:
            outcome = await run_plugin(
                path,
                argv,
                timeout=check.timeout,
                limit=self.output_limit,
                timeout_state=check.timeout_state,
                exit_code_state=check.exit_code_state,
                is_host=job.key.is_host,
                env=self._env,
            )
        except (OSError, ValueError) as exc:
            self.locator.forget(argv[0])
            return PluginOutcome(check.exit_code_state, exec_error_text(path, exc), notes=notes)
        if notes:
            outcome = _with_notes(outcome, notes)
        return outcome

    async def _probe(self, job: CheckJob) -> PluginOutcome:
        check = job.check
        options, notes = self._options(job)
        got = await self._in_worker(job, options)
        if got is None:
            got = await call_probe(
                self.probes, check.type, options, check.timeout, check.timeout_state
            )
        elif isinstance(got, str):
            log.error("check %s failed inside the probe worker: %s", job.key, got)
            return PluginOutcome(UNKNOWN, f"internal error: {got}", notes=notes)
        status = got.status
        if not isinstance(status, int) or not 0 <= status <= 3:
            notes += (f"probe returned invalid status {status!r}",)
            status = UNKNOWN
        notes += tuple(got.notes)
        empty = NO_OUTPUT_HOST if job.key.is_host else NO_OUTPUT
        limit = self.output_limit
        output = sanitize(got.output).strip()
        long_output = sanitize(got.long_output).strip("\n")
        truncated = len(output) > limit or len(long_output) > limit
        return PluginOutcome(
            status=status,
            output=output[:limit] or empty,
            long_output=long_output[:limit],
            perfdata=got.perfdata,
            notes=notes,
            truncated=truncated,
        )

    def _options(self, job: CheckJob) -> tuple[Mapping[str, Any], tuple[str, ...]]:
        """The job's probe options with macros expanded. A service's spec and macros are the
        same objects from run to run (until a reload), so the expansion is done once."""
        check, macros = job.check, job.macros
        # the server's jobs: the expansion is kept on their macros
        own = macros if isinstance(macros, Macros) else None
        if own is not None:
            if own.expanded_for is check:
                return own.expanded, own.notes
        else:
            hit = self._expanded.get(id(macros))
            if hit is not None and hit[0] is check and hit[1] is macros:
                return hit[2], hit[3]
        # an unknown type fails here, in the server, with its text
        probe = self.probes.get(check.type)
        unknown: list[str] = []
        options = with_defaults(check.options, probe.defaults, macros, unknown)
        notes: tuple[str, ...] = (unknown_note(unknown),) if unknown else ()
        self._expansions += 1
        if self._expansions >= EXPANDED_MAX:
            # after reloads: drop what specs that are gone left
            self._expanded.clear()
            self._shared.clear()
            self._expansions = 0
        view = self._share(options)
        if own is not None:
            own.expanded_for, own.expanded, own.notes = check, view, notes
        else:
            self._expanded[id(macros)] = (check, macros, view, notes)
        if self._expansions > self._reserved:
            # the probes' memos sized for the checks this runner runs (room, not memory)
            self._reserved = 2 * self._expansions
            reserve_options(self._reserved)
        return view, notes

    def _share(self, options: Mapping[str, Any]) -> MappingProxyType[str, Any]:
        """The view of options equal to these (value types included) already in use, else a
        new one. Only the hash is kept as the key: a key as big as the options would cost what
        sharing saves when every check's options are its own."""
        view = MappingProxyType(options)
        key = options_key(options)
        if key is None:  # not plain data: its own
            return view
        digest = hash(key)
        found = self._shared.get(digest)
        if found is None:
            self._shared[digest] = view
            return view
        if options_key(found) == key:
            return found
        return view  # another content with the same hash (rare): not shared

    async def _in_worker(
        self, job: CheckJob, options: Mapping[str, Any]
    ) -> ProbeOutcome | str | None:
        """The probe's answer from a worker process; None: run it in this loop instead (no
        worker for it, or options that are not plain data)."""
        check = job.check
        if self.workers is None or not self._offload or check.type in IN_PROCESS:
            return None
        worker = self.workers.pick(job.key, check.type)
        if worker is None:
            return None
        try:
            # The worker enforces the deadline itself; this one only covers a hung worker.
            wait = check.timeout + PROBE_GRACE + WORKER_GRACE
            return await self.workers.run(
                worker, check.type, options, check.timeout, check.timeout_state, wait
            )
        except (TypeError, ValueError):
            return None
        except TimeoutError:
            return ProbeOutcome(
                check.timeout_state,
                f"timed out after {check.timeout:g} s (the probe worker did not answer)",
            )
        except WorkerGone as exc:
            return ProbeOutcome(UNKNOWN, f"{exc}; it is restarted")


def _perfdata(items: Sequence[object]) -> tuple[PerfDatum, ...]:
    """The outcome's perfdata as the result's: the probe's own tuple when it holds nothing else
    (every check keeps its last result: a copy of it was 60 bytes each)."""
    if type(items) is tuple and all(type(p) is PerfDatum for p in items):
        return items
    return tuple(p for p in items if isinstance(p, PerfDatum))


def _with_notes(outcome: PluginOutcome, notes: tuple[str, ...]) -> PluginOutcome:
    return PluginOutcome(
        outcome.status,
        outcome.output,
        outcome.long_output,
        outcome.perfdata,
        notes + outcome.notes,
        outcome.truncated,
    )
