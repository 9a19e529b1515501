"""Wiring only: config → engine, store, scheduler, runner; start, reload, stop.

A check result flows: scheduler → runner → `Server.ingest` → engine (pure) → store writer
(state, events and the notification outbox rows in one transaction) → once committed, the
event sinks (the log) and the dispatcher, which delivers the outbox rows with retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from augenmass.config import load_config, require_hosts, suggest, summarize
from augenmass.core.clock import Clock, SystemClock
from augenmass.core.datadir import check_store_paths, ensure_dir, sqlite_file
from augenmass.core.errors import ConfigError
from augenmass.core.plan import Plan
from augenmass.core.values import CheckJob, CheckKey, CheckResult, Event, PerfDatum, state_name
from augenmass.runner import Runner
from augenmass.runner.dispatch import IN_PROCESS
from augenmass.runner.fdlimit import raise_fd_limit
from augenmass.runner.macros import host_macros, job_macros
from augenmass.runner.pool import ProbeWorkers, default_workers
from augenmass.scheduler import JobTemplate, Scheduler
from augenmass.server import deadman, memtrim, nagioscmd
from augenmass.server import dependencies as deps
from augenmass.server import spool as commands
from augenmass.server.agents import AgentHub
from augenmass.server.preflight import check_icmp
from augenmass.server.reserve import Reserve
from augenmass.server.sdnotify import Notifier
from augenmass.state import Engine, Outcome

# The store (SQLAlchemy), the notifications and the cluster (NATS) are imported in _start, in a
# thread while the first checks run: at module level they were a third of a second of every
# start before the config was even read (python -X importtime; bench/startup.py run).
if TYPE_CHECKING:
    from augenmass.cluster.dispatch import Dispatch
    from augenmass.notify import NotificationService
    from augenmass.server.role import Role
    from augenmass.store import Store, StoreWriter
    from augenmass.store.outbox import Queued

log = logging.getLogger("augenmass.server")
IN_PROCESS_TYPES = IN_PROCESS | {"plugin"}

SELF_KEY = CheckKey("augenmass", "scheduler")
TICK_SECONDS = 1.0
HOUSEKEEPING_SECONDS = 300.0
RESERVE_RETRY = 10.0  # seconds between two tries to make the disk reserve anew
COMMAND_COMMIT_TIMEOUT = 30.0
WRITE_BACKLOG_LIMIT = 10_000
COMMAND_FILE = "command_file"  # a standby's Nagios command file, passed on (cluster_commands)
RELOAD_SWITCH_INTERVAL = 0.001  # seconds; sys.setswitchinterval while a reload loads
# The cyclic collector's thresholds once the start is frozen. With the defaults (700, 10, 10)
# a full pass ran every 1.4 s at 2,000 checks/s (the states, results and perfdata made since
# the freeze: 160,000 objects at 10,000 services) and held the loop 0.1 s each time: most of
# the p99 start lateness, and 7 % of a core. Young passes every 10,000 objects instead of 700
# cost 10-20 ms; a full pass comes 100 middle passes later (minutes, at that rate). Young
# passes every 100,000 objects, not 10,000: a result lives about a second (the store writer's
# merge window), and a young pass every 0.1 s at 4,000 checks/s walked each one several times
# and moved it to the older generations before it was freed (the server's CPU per check
# 0.19 → 0.16 ms with the row building below, bench/RESULTS.md). What is not in a reference
# cycle is freed at once as always; only cyclic garbage waits longer.
GC_THRESHOLDS = (100_000, 20, 100)
CLUSTER_FIGURES = "augenmass.cluster.json"  # the workers' figures, for `augenmass status`
FORWARD_WAIT = 10.0  # a standby waits this long for the active server to apply an action

EventSink = Callable[[list[Event]], None]
T = TypeVar("T")
# The URLs of a store that servers may share (PostgreSQL: active/standby, with a lease), as
# store/database.py tells them apart; any other store is one server's own (SQLite).
SHARED_STORE_PREFIXES = ("postgresql:", "postgresql+", "postgres:")


def build_jobs(plan: Plan) -> dict[CheckKey, JobTemplate]:
    jobs: dict[CheckKey, JobTemplate] = {}
    # a host's macros are shared by all its checks (memory: one copy per host, not per check)
    shared = {name: host_macros(host) for name, host in plan.hosts.items()}
    # one key object for the mapping and the job (set_jobs compares them: identical is quick)
    for host in plan.hosts.values():
        if host.check is not None and host.agent is None:
            macros = job_macros(shared[host.name], None, host.check)
            key = host.key
            jobs[key] = _job(plan, key, host.check, macros)
    for key, svc in plan.services.items():
        host = plan.hosts[svc.host]
        if host.agent is not None:
            continue  # its agent runs it and sends the result (server/agents.py)
        jobs[key] = _job(plan, key, svc.check, job_macros(shared[svc.host], svc, svc.check))
    return jobs


def _job(plan: Plan, key: CheckKey, check: object, macros: Mapping[str, str]) -> JobTemplate:
    policy = plan.policy(key)
    return JobTemplate(
        key=key,
        check=check,  # type: ignore[arg-type]
        macros=macros,
        interval=policy.check_interval,
        active=policy.active_checks,
        freshness_threshold=policy.freshness_threshold,
        period=plan.timeperiods.get(policy.check_period) if policy.check_period else None,
    )


def probe_rate(jobs: Iterable[JobTemplate]) -> float:
    """Built-in probe checks per second the plan asks for (plugins run as processes anyway)."""
    return sum(1 / j.interval for j in jobs if j.active and j.check.type not in IN_PROCESS_TYPES)


def db_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'augenmass.db'}"


# Read once, when the server starts (workers, runner, scheduler slots, self-metrics timer).
RESTART_ONLY = (
    "probe_workers",
    "max_concurrent_checks",
    "max_check_spread",
    "plugin_dirs",
    "output_limit",
    "self_metrics_interval",
)


def restart_only_changes(old: Plan, new: Plan) -> list[str]:
    """The settings a reload changes but cannot apply (named, so the admin knows)."""
    return [
        name for name in RESTART_ONLY if getattr(old.settings, name) != getattr(new.settings, name)
    ]


class Server:
    def __init__(
        self,
        config_path: Path,
        data_dir: Path,
        listen: str | None = None,
        clock: Clock | None = None,
        store_url: str | None = None,
        allow_empty: bool = False,
        node: str | None = None,
    ) -> None:
        self.config_path = config_path
        # A config without hosts is refused at start and on reload unless this is set: an
        # emptied file must not stop all monitoring silently.
        self.allow_empty = allow_empty
        self.data_dir = data_dir
        self.listen = listen
        self.clock = clock or SystemClock()
        self.store_url = store_url or db_url(data_dir)
        self._node = node  # its name in the lease (active/standby); default: see `node`
        self.role: Role
        self._active_tasks: list[asyncio.Task[None]] = []  # what only the active server runs
        self.sinks: list[EventSink] = [log_events]
        self._stopping = asyncio.Event()
        self.failed = False  # set when the server stops for an error (exit code 1)
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()  # engine mutations happen one at a time
        # the last run's duration of each check, for /metrics (memory only: a figure, no state)
        self.durations: dict[CheckKey, float] = {}
        self.plan: Plan
        self.engine: Engine
        self.store: Store
        self.writer: StoreWriter
        self.scheduler: Scheduler
        self.runner: Runner
        self.workers: ProbeWorkers
        self.notifications: NotificationService  # the outbox sink and its delivery loop
        self.agents: AgentHub  # what `augenmass agent`s run and send
        self.cluster: Dispatch | None = None  # check workers over NATS (cluster.nats)
        # --- systemd: READY/RELOADING/STOPPING, watchdog pings, STATUS= (no-op outside it)
        self.systemd = Notifier.from_env()
        self.listening = asyncio.Event()  # set by the listener once its socket is bound
        # told of each reload (a refused one: with the plan that stays): the listener's
        # certificate, cookie and proxy settings
        self.reload_hooks: list[Callable[[Plan], None]] = []
        self.reserve: Reserve | None = None  # disk space to give up when the disk is full
        self._reserve_tried = -RESERVE_RETRY
        self._store_was_failing = False
        # children's verdicts waiting for the answer of a parent checked on demand
        self._answers: dict[CheckKey, list[asyncio.Future[None]]] = {}
        self._loading = 0  # reloads loading a config in a thread right now
        self._reloading = 0  # reloads under way (loading or applying)
        self._gc_was_enabled = True  # the collector's state before them
        self._switch = sys.getswitchinterval()  # the interval to give back after them
        # dead-man checks: since when each one is watched (start, or the reload adding it)
        self._watched_since: dict[CheckKey, float] = {}
        # set once the store, the engine and the notifications are there: results of checks
        # started before (a single server starts its first checks before them) wait for it
        self._ready = asyncio.Event()
        self._early: set[asyncio.Task[tuple[Outcome, float | None]]] = set()  # their results
        self._scheduling: asyncio.Task[None] | None = None  # the scheduler's loop, run early

    @property
    def node(self) -> str:
        """This server's name in the lease: as given, else the host name and data directory."""
        if self._node is None:
            from augenmass.server.role import default_node

            self._node = default_node(self.data_dir)
        return self._node

    @staticmethod
    def hold_reload_signal() -> None:
        """Keep SIGHUP pending until serve_forever handles it (it reloads then, once).

        `augenmass reload` signals whoever holds the data directory's lock, and the server takes
        the lock before it reads its config and opens its store; SIGHUP's default action would
        end a server that is still starting. Blocked, not caught: a caught signal could also
        reach the event loop's own handler later, and reload twice. Threads started meanwhile
        inherit the block, so the kernel keeps the signal for the main thread."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        # The start builds a million objects and frees few: each pass of the cyclic garbage
        # collector walked them all again (a fifth of the start of 10,000 hosts); the end of
        # _start() freezes what stays (gc.freeze).
        enabled = gc.isenabled()
        gc.disable()
        try:
            await self._start()
        finally:
            if enabled:
                gc.enable()

    async def _start(self) -> None:
        phases = _Phases()  # how long each step took, in the "started" line (issue 17)
        self.plan = load_config(self.config_path)  # ConfigError → nothing starts
        phases.done("config")
        if not self.allow_empty:
            require_hosts(self.plan, self.config_path)
        raise_fd_limit()
        # A data directory or spool of the wrong kind, or not writable: one line, not a trace.
        ensure_dir(self.data_dir)
        ensure_dir(commands.spool_dir(self.data_dir), "the command spool")
        # A server of its own store (SQLite) is active from the start: its first checks start
        # now, and the store, the engine and the notifications are made while they run (their
        # results wait for them: `_ready`). One sharing a PostgreSQL store may be a standby:
        # it schedules once it knows, as before. (10,000 hosts: the first check 0.5 s sooner.)
        early = not self.store_url.startswith(SHARED_STORE_PREFIXES)
        db = sqlite_file(self.store_url) if early else None
        if db is not None:
            check_store_paths(db)  # its files' kind and rights: one line before any check starts
        try:
            if early:
                await self._start_checks(phases, early=True)
            await self._start_rest(phases, self._scheduling)
        except BaseException:
            await self._abandon_start()  # e.g. the store failed: the checks started end here
            raise

    async def _abandon_start(self) -> None:
        """Stop what a start that fails had started already (the scheduler, the workers)."""
        for task in list(self._early):
            task.cancel()  # results waiting for an engine that will not come
        if hasattr(self, "scheduler"):
            self.scheduler.stop()
        if self._scheduling is not None:
            self._scheduling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._scheduling
        if hasattr(self, "workers"):
            await self.workers.stop()

    async def _start_checks(self, phases: _Phases, early: bool = False) -> None:
        """Workers, runner, scheduler and its jobs: what the first check needs. `early`: the
        scheduler's loop runs from here on (`_scheduling`) and starts the first due checks
        while the jobs are placed, slice by slice (placing 30,000 took 60 ms)."""
        settings = self.plan.settings
        workers = settings.probe_workers
        count = default_workers() if workers is None else workers
        self.workers = ProbeWorkers(count, clock=self.clock)
        await self.workers.start()
        phases.done("workers")
        self.runner = Runner(
            settings.plugin_dirs, settings.output_limit, clock=self.clock, workers=self.workers
        )
        self._watch_dead_men(self.plan)
        self.scheduler = self._new_scheduler()
        jobs = build_jobs(self.plan)
        self.workers.plan_rate(probe_rate(jobs.values()))
        self.workers.server_starting()  # until `_settled`
        check_icmp(jobs.values())
        if early:
            self._scheduling = asyncio.create_task(self.scheduler.run(), name="scheduler")
            await _stepped(self.scheduler.set_jobs_steps(jobs))
        else:
            self.scheduler.set_jobs(jobs)
        phases.done("jobs")

    async def _start_rest(self, phases: _Phases, scheduling: asyncio.Task[None] | None) -> None:
        """Everything else; `scheduling`: the scheduler's loop if it runs already."""
        # In a thread: the event loop goes on starting checks meanwhile, waiting for the GIL
        # at most 1 ms each time (as while a reload loads).
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, RELOAD_SWITCH_INTERVAL))
        try:
            await asyncio.to_thread(_import_late, self.plan.cluster.nats_url is not None)
        finally:
            sys.setswitchinterval(switch)
        from augenmass.notify import NotificationService
        from augenmass.server.role import Role
        from augenmass.store import StoreWriter, open_store
        from augenmass.store.lease import Lease

        phases.done("imports")
        self.store = await open_store(
            self.store_url, max_series_per_check=self.plan.settings.max_series_per_check
        )
        if self.store.degraded_reason:
            log.error("store degraded at start-up", extra={"reason": self.store.degraded_reason})
        if self.store.dialect == "sqlite":
            self.reserve = Reserve(self.data_dir, self.plan.settings.disk_reserve_mb * 2**20)
            if self.reserve.size and not self.reserve.make():
                log.warning(
                    "no disk reserve: less than twice its size is free in the data directory",
                    extra={"reserve_mb": self.plan.settings.disk_reserve_mb},
                )
        lease = None
        if self.store.dialect == "postgresql":
            if scheduling is not None:  # SHARED_STORE_PREFIXES no longer names its URLs
                raise RuntimeError("a server sharing its store scheduled before the lease")
            lease = Lease(self.store.engine, self.node, self.plan.cluster.lease.ttl)
        self.role = Role(
            self.node,
            lease,
            self.plan.cluster.lease,
            self.activate,
            self.step_down,
            self.refresh_standby,
        )
        if lease is not None:
            await self.role.take_at_start()  # free, or our own node's: active from the start
            self.store.fence.token = self.role.token
        phases.done("store")
        snap = await self.store.load()
        phases.done("states")
        self.engine = Engine(self.plan, snap.states, snap.downtimes.values())
        phases.done("engine")
        # Plain results share a transaction for up to a second (a commit per result costs 3x
        # the CPU); anything someone waits for is committed at once.
        self.writer = StoreWriter(self.store, self.clock, merge_window=1.0, max_batch_results=5000)
        await self.writer.start()
        # --- notifications: outbox rows are written with the state (persist), sent by its loop
        self.notifications = NotificationService(self.plan, self.store, self.clock)
        self.notifications.dispatcher.may_send = self.role.may_act
        if not self.role.standby:
            await self.notifications.start()
            # what the config alone changed since the last run (a host whose check was removed
            # is UP again), stored so that `augenmass status` and a restart agree with the engine
            await self.persist(self.engine.changed_at_start(), [])
        phases.done("notify")
        self.agents = AgentHub(
            self.data_dir, self.clock, self.plan, self.ingest_outcome, self.commit
        )
        self._ready.set()  # results of the checks started so far go on from here
        if scheduling is None:
            await self._start_checks(phases)
        self._tasks = []
        if lease is not None:
            # a standby passes the commands of the CLI's spool on to the active server
            self._tasks.append(
                asyncio.create_task(self._every(TICK_SECONDS, self.standby_tick), name="spool")
            )
            self._tasks.append(asyncio.create_task(self.role.run(), name="lease"))
        if not self.role.standby:
            self._start_active(scheduling)
        await self._start_cluster()
        if self.listen:
            from augenmass.server.listener import serve

            http = asyncio.create_task(serve(self, self.listen), name="http")
            http.add_done_callback(self._http_ended)
            self._tasks.append(http)
        if self.systemd.enabled:
            self._tasks.append(
                asyncio.create_task(self.systemd.keepalive(self.status_line), name="systemd")
            )
        # The plan and the loaded states live for the whole run: keep them out of every
        # garbage-collector pass (with 10,000 services a full pass takes milliseconds). Not
        # collected first: that pass cost 0.2 s of CPU at 10,000 hosts (and grows with them)
        # to free about 3,400 objects the start left in cycles, whatever the config's size.
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self._tasks.append(asyncio.create_task(self._settled(), name="settled"))
        if memtrim.available():
            trimming = self._every(memtrim.TRIM_SECONDS, self.trim_memory)
            self._tasks.append(asyncio.create_task(trimming, name="trim"))
        phases.done("gc")
        log.info(
            "started",
            extra={
                "summary": summarize(self.plan),
                "store": _safe_url(self.store_url),
                **phases.seconds,
            },
        )
        _say_unreached(self.plan)

    async def _settled(self) -> None:
        """The start is over once the API listens (its imports and app take most of a second
        of CPU after the "started" line): from then on the probe workers measure load."""
        if self.listen:
            waits = [asyncio.ensure_future(e.wait()) for e in (self.listening, self._stopping)]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        self.workers.server_started()

    def _new_scheduler(self) -> Scheduler:
        settings = self.plan.settings
        return Scheduler(
            self.clock,
            self.run_check,
            self.ingest,
            max_concurrency=settings.max_concurrent_checks,
            max_spread=settings.max_check_spread,
            coalesce=0.02,
            coalesce_max=0.05,
        )

    def _start_active(self, scheduling: asyncio.Task[None] | None = None) -> None:
        """The loops only the active (or single) server runs; `scheduling`: the scheduler's
        loop, if it runs already."""
        settings = self.plan.settings
        self._active_tasks = [
            scheduling or asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self._every(TICK_SECONDS, self.tick), name="tick"),
            asyncio.create_task(
                self._every(settings.self_metrics_interval, self.self_metrics), name="self"
            ),
            asyncio.create_task(self._every(HOUSEKEEPING_SECONDS, self.housekeeping), name="house"),
        ]

    # --- active/standby (server/role.py) -------------------------------------------------
    async def activate(self, token: int) -> None:
        """This server took the lease: load the states as committed, then act."""
        from augenmass.notify import NotificationService

        self.store.fence.token = token
        await self.store.reprime()  # the other server wrote series and result slots
        snap = await self.store.load()
        async with self._lock:
            self.engine = Engine(self.plan, snap.states, snap.downtimes.values())
            # passive results went to the old active server until now: watched from here on
            self._watched_since = {}
            self._watch_dead_men(self.plan)
        self.notifications = NotificationService(self.plan, self.store, self.clock)
        self.notifications.dispatcher.may_send = self.role.may_act
        await self.notifications.start()
        await self.persist(self.engine.changed_at_start(), [])
        self.scheduler = self._new_scheduler()
        self.scheduler.set_jobs(build_jobs(self.plan))
        self._start_active()
        log.info("active: scheduling, evaluating and notifying", extra={"node": self.node})

    def step_down(self) -> None:
        """Stop acting at once (synchronously: nothing else runs before it is done)."""
        if hasattr(self, "scheduler"):  # not yet while the server starts
            self.scheduler.stop()
        for task in self._active_tasks:
            task.cancel()
        self._active_tasks = []
        self.notifications.halt()
        log.warning("standby: stopped scheduling and notifying", extra={"node": self.node})

    async def refresh_standby(self) -> None:
        """A standby's view: the states and downtimes as the active server committed them."""
        snap = await self.store.load()
        async with self._lock:
            if self.role.standby:
                self.engine = Engine(self.plan, snap.states, snap.downtimes.values())

    async def standby_tick(self) -> None:
        if self.role.standby:
            await self.process_commands()

    async def forward(self, command: dict[str, object]) -> bool:
        """On a standby: hand an operator action to the active server through the store and
        wait (bounded) until it is applied; then show it. False: not applied yet (kept)."""
        from augenmass.store import clustercmd

        cid = await clustercmd.put(self.store.engine, self.node, command, self.clock.now())
        deadline = self.clock.monotonic() + FORWARD_WAIT
        while self.clock.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if not await clustercmd.waiting(self.store.engine, cid):
                await self.refresh_standby()
                return True
        return False

    async def stop(self) -> None:
        self.systemd.stopping()
        self.scheduler.stop()
        for task in [*self._active_tasks, *self._tasks]:
            task.cancel()
        for task in [*self._active_tasks, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.cluster is not None:
            await self.cluster.stop()  # jobs in flight: their checks run again when due
        await self.workers.stop()
        await self.notifications.stop()  # unsent outbox rows stay pending for the next start
        await self.writer.stop()  # flushes what is queued
        await self.role.release()  # a clean stop: the standby takes over at once
        await self.store.close()
        self.systemd.close()
        log.info("stopped")

    def _http_ended(self, task: asyncio.Task[None]) -> None:
        # Without its API and UI the server is not what the operator started: stop, loudly.
        if task.cancelled() or self._stopping.is_set():
            return
        log.error("the HTTP listener ended; stopping", extra={"listen": self.listen})
        self.failed = True
        self._stopping.set()

    async def serve_forever(self) -> None:
        await self.start()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        # A reload asked for while the server was starting is delivered now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        await self._announce_ready()
        await self._stopping.wait()
        await self.stop()

    # --- systemd ---------------------------------------------------------------------------
    async def _announce_ready(self) -> None:
        """READY=1 once the plan is loaded and the API listens (or never, if it cannot)."""
        if self.listen:
            waits = [asyncio.ensure_future(e.wait()) for e in (self.listening, self._stopping)]
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in pending:
                waiting.cancel()
        if not self._stopping.is_set():
            self.systemd.ready(self.status_line())

    def status_line(self) -> str:
        states = self.engine.states.values()
        problems = sum(1 for st in states if st.checked and st.state != 0)
        return f"{len(states)} checks, {problems} problem{'s' if problems != 1 else ''}"

    async def reload(self) -> bool:
        """Re-read the config; a broken one is refused and the old one keeps running."""
        self.systemd.reloading()
        # As at the start, no cyclic garbage collection until the new plan is frozen (the end
        # of _reload): the load re-enabled it, and a full pass over the new plan's million
        # objects, due soon after, held the event loop up for 0.1 s in the middle of applying.
        # (Reloads at once: the last one to end gives it back.)
        if not self._reloading:
            self._gc_was_enabled = gc.isenabled()
            gc.disable()
        self._reloading += 1
        try:
            accepted = await self._reload()
            if not accepted:  # a renewed TLS certificate is still read: it may be expiring
                for hook in list(self.reload_hooks):
                    hook(self.plan)
            return accepted
        finally:
            self._reloading -= 1
            if not self._reloading and self._gc_was_enabled:
                gc.enable()
            self.systemd.ready(self.status_line())

    def _prepare(self) -> tuple[Plan, dict[CheckKey, JobTemplate]]:
        """The new plan and its jobs: pure work, done in a thread so that the event loop keeps
        starting checks meanwhile (a 10,000-host config takes seconds to load)."""
        plan = load_config(self.config_path)
        if not self.allow_empty:
            require_hosts(plan, self.config_path)
        return plan, build_jobs(plan)

    async def _reload(self) -> bool:
        phases = _Phases()
        # While the thread loads, the loop waits for the GIL on every wake-up, up to the switch
        # interval (5 ms by default) each time: 1 ms meanwhile.
        # (Two reloads at once: the first saves the interval, the last gives it back.)
        if not self._loading:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, RELOAD_SWITCH_INTERVAL))
        self._loading += 1
        try:
            plan, jobs = await asyncio.to_thread(self._prepare)
        except ConfigError as exc:
            log.error(
                "reload refused: config has errors; the old config keeps running",
                extra={"errors": len(exc.problems), "first": str(exc.problems[0])},
            )
            return False
        except Exception as exc:  # an unreadable path must not take the server down
            log.error("reload refused", extra={"error": repr(exc)})
            return False
        finally:
            self._loading -= 1
            if not self._loading:
                sys.setswitchinterval(self._switch)
        phases.done("load")
        later = restart_only_changes(self.plan, plan)
        if later:
            log.warning(
                "reloaded; some settings take effect only at the next restart",
                extra={"settings": ", ".join(later)},
            )
        async with self._lock:
            # The engine's and the scheduler's share of a large reload go in slices of a few
            # thousand keys (a few ms each), with the loop running due checks in between:
            # whole, each held it up for up to 0.1 s at 30,000 keys. Results that come in
            # meanwhile wait for the lock, and a gone key's result is ignored as after any
            # reload; the engine switches to the new plan at its last slice, at once.
            outcome = await _stepped(self.engine.reload_steps(plan))
            self._watch_dead_men(plan)
            self.plan = plan
            await self.persist(outcome, [])
            self.notifications.reload(plan)  # new contacts, channels and delivery settings
            self.store.max_series_per_check = plan.settings.max_series_per_check
            await asyncio.sleep(0)
            await _stepped(self.scheduler.set_jobs_steps(jobs))
            self.agents.reload(plan)
            self._reload_cluster(plan)
        for hook in list(self.reload_hooks):
            hook(plan)
        check_icmp(jobs.values())
        # The new plan lives until the next reload: out of the collector's passes, as at the
        # start. Not collected first: a full pass over a million objects would stall the loop.
        gc.freeze()
        phases.done("apply")  # what the event loop spent on it: the longest it was held up
        log.info("reloaded", extra={"summary": summarize(plan), **phases.seconds})
        _say_unreached(plan)
        return True

    # --- the result path -----------------------------------------------------------------
    async def run_check(self, job: CheckJob) -> CheckResult | None:
        """The scheduler's runner: a dead-man check's forced run is answered here."""
        key = job.key
        found = self.plan.services.get(key) if key.service else self.plan.hosts.get(key.host)
        if found is None or found.policy.expect_every is None:
            if self.cluster is not None:
                remote = self.cluster.offer(job, self.plan.zone_of(key))
                if remote is not None:  # a worker of its zone runs it
                    return await remote
            return await self.runner.run(job)
        await self._ready.wait()  # the engine: the state's last result
        return deadman.missing_result(
            key,
            found.policy,
            self.engine.states.get(key),
            self._watched_since.get(key, self.clock.now()),
            self.clock.now(),
            self.plan.settings.timezone,
        )

    async def _start_cluster(self) -> None:
        """Workers over NATS (docs/workers.md): connected in the background; until a zone has a
        live worker, the server runs its checks itself."""
        cluster, settings = self.plan.cluster, self.plan.settings
        if cluster.nats_url is None:
            return
        from augenmass.cluster.dispatch import Dispatch

        self.cluster = Dispatch(
            cluster, self.clock, self.runner.run, settings.plugin_dirs, settings.output_limit
        )
        await self.cluster.start()
        figures = self.data_dir / CLUSTER_FIGURES
        self._tasks.append(
            asyncio.create_task(
                self._every(5.0, lambda: self._write_cluster_figures(figures)), name="figures"
            )
        )

    async def _write_cluster_figures(self, path: Path) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.write_figures, path)

    def _reload_cluster(self, plan: Plan) -> None:
        if self.cluster is None:
            if plan.cluster.nats_url is not None:
                log.warning("cluster.nats was added: workers are used after the next restart")
            return
        settings = plan.settings
        self.cluster.reload(plan.cluster, settings.plugin_dirs, settings.output_limit)

    def _watch_dead_men(self, plan: Plan) -> None:
        now = self.clock.now()
        keys = [h.key for h in plan.hosts.values() if h.policy.expect_every is not None]
        keys += [s.key for s in plan.services.values() if s.policy.expect_every is not None]
        self._watched_since = {k: self._watched_since.get(k, now) for k in keys}

    async def ingest(self, result: CheckResult) -> float | None:
        """One path for scheduled, passive and (later) agent results; the next interval."""
        if not self._ready.is_set():
            # A check started before the engine was there: its result is taken once it is,
            # and its scheduler slot is given back now. Held until then, the slots filled up,
            # the checks queued behind them started late and took the moment the store was
            # ready as their phase: a clump every interval (p99 lateness 0.5 s at 2,000/s).
            task = asyncio.create_task(self.ingest_outcome(result), name="early result")
            self._early.add(task)
            task.add_done_callback(self._early.discard)
            return None  # the job's own interval: the state is not known yet
        return (await self.ingest_outcome(result))[1]

    async def ingest_outcome(self, result: CheckResult) -> tuple[Outcome, float | None]:
        """`ingest`, also with what the engine made of the result (a reason when ignored)."""
        if not self._ready.is_set():  # a check started before the engine was there
            await self._ready.wait()
        await self.ask_parents(result)
        key = result.key
        async with self._lock:
            states = self.engine.states
            before = states.get(key)
            outcome = self.engine.ingest(result, self.clock.now())
            after = states.get(key)
            interval = self.engine.next_check_interval(key) if after is not None else None
            recheck = (
                deps.to_recheck(self.plan, states, key.host)
                if deps.came_back(before, after)
                else []
            )
        self._answered(key)
        if not result.passive:
            self.durations[key] = result.duration
        for again in recheck:
            self.scheduler.check_now(again)
        await self.persist(outcome, [result])
        if self.writer.backlog > WRITE_BACKLOG_LIMIT and not self.writer.degraded:
            # The store cannot keep up (overload): hold this check's slot until the backlog is
            # under the bound again, so lateness grows and is reported instead of memory
            # growing without bound. (A store that FAILS is another matter: the writer
            # compacts what waits, and the checks go on, so states stay current.)
            await self.writer.wait_below(WRITE_BACKLOG_LIMIT)
        if result.passive:
            self.scheduler.note_passive(result.key)
        return outcome, interval

    async def ask_parents(self, result: CheckResult) -> None:
        """Check the parents of a failing child now and wait (bounded) for their answers, so
        the child is judged DOWN or UNREACHABLE, its services "host problem" or not, from
        current states (docs/semantics.md §5)."""
        parents = deps.parents_to_ask(self.plan, self.engine.states, result)
        if not parents:
            return
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for parent in parents:
            # False: running already (its answer comes), or nothing to run (nothing to wait for)
            if not self.scheduler.check_now(parent) and not self.scheduler.running(parent):
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._answers.setdefault(parent, []).append(waiter)
            waits.append(waiter)
        if not waits:
            return
        _, late = await asyncio.wait(waits, timeout=deps.wait_bound(self.plan, parents))
        for waiter in late:
            waiter.cancel()  # the parent's answer did not come in time: judge with what is known
        for parent in parents:
            left = [w for w in self._answers.get(parent, ()) if not w.done()]
            if left:
                self._answers[parent] = left
            else:
                self._answers.pop(parent, None)

    def _answered(self, key: CheckKey) -> None:
        for waiter in self._answers.pop(key, ()):
            if not waiter.done():
                waiter.set_result(None)

    async def tick(self) -> None:
        self.guard_disk()
        async with self._lock:
            outcome = self.engine.tick(self.clock.now())
        if outcome.states or outcome.events or outcome.downtimes_set or outcome.downtimes_removed:
            await self.persist(outcome, [])
        await self.agents.tick()
        await self.process_commands()
        if self.role.lease is not None:
            await self.cluster_commands()

    def guard_disk(self) -> None:
        """Give up the reserve when the disk is full; make it anew once there is room."""
        from augenmass.store.database import disk_full

        failing = self.writer.degraded
        if failing:
            self._store_was_failing = True
            reserve = self.reserve
            full = disk_full(self.writer.last_error or "")
            if reserve is not None and full and reserve.release():
                log.error(
                    "DISK FULL: gave up the disk reserve so that what waits can be written;"
                    " free space in the data directory",
                    extra={"reserve_mb": reserve.size >> 20, "path": str(self.data_dir)},
                )
            return
        if self._store_was_failing:
            self._store_was_failing = False
            # the WAL holds the backlog now: move it into the database, give its space back
            task = asyncio.create_task(self.store.checkpoint(), name="checkpoint")
            task.add_done_callback(_log_failure)
        reserve = self.reserve
        now = self.clock.monotonic()
        if reserve is not None and reserve.size and now - self._reserve_tried >= RESERVE_RETRY:
            self._reserve_tried = now
            if not reserve.held and reserve.make():
                log.warning("the disk has room again: disk reserve made anew")

    async def process_commands(self) -> None:
        """Apply spooled operator commands; a file is deleted only once its effect is durable."""
        from augenmass.store import WriteBatch, clustercmd

        for path in commands.pending(self.data_dir):
            if path.suffix == ".cmd" and self.role.standby:
                await self._pass_command_file(path)
                continue
            if path.suffix == ".cmd":
                await self._command_file(path)
                continue
            try:
                cmd = commands.read(path)
                kind, key, action = commands.parse(cmd, self.clock.now())
                if key is not None and not self._known(key):
                    raise commands.CommandError(self._unknown(key))
            except (commands.CommandError, ValueError, OSError) as exc:
                log.error("command refused", extra={"file": path.name, "error": str(exc)})
                commands.refuse(path, str(exc))
                continue
            if self.role.standby:
                await clustercmd.put(self.store.engine, self.node, cmd, self.clock.now())
                log.info("command passed to the active server", extra={"file": path.name})
                path.unlink(missing_ok=True)
                continue
            await self.apply(action)
            self.writer.submit(WriteBatch(), urgent=True)
            try:
                await asyncio.wait_for(self.writer.flush(), COMMAND_COMMIT_TIMEOUT)
            except TimeoutError:
                log.warning("store slow; command kept for a retry", extra={"file": path.name})
                return
            if kind == "check_now" and key is not None:
                self.scheduler.check_now(key)
            log.info("command applied", extra={"action": kind, "check": str(key or "")})
            path.unlink(missing_ok=True)

    async def _pass_command_file(self, path: Path) -> None:
        """On a standby: a Nagios command file's lines go to the active server (through the
        store, as the other actions), which applies them as its own (`_command_lines`)."""
        lines = self._command_file_lines(path)
        if lines is None:
            return
        from augenmass.store import clustercmd

        cmd = {"action": COMMAND_FILE, "file": path.name, "lines": lines}
        await clustercmd.put(self.store.engine, self.node, cmd, self.clock.now())
        log.info("command file passed to the active server", extra={"file": path.name})
        commands.remove(path)

    async def _command_file(self, path: Path) -> None:
        lines = self._command_file_lines(path)
        if lines is not None:
            await self._command_lines(lines, path.name)
            commands.remove(path)

    @staticmethod
    def _command_file_lines(path: Path) -> list[str] | None:
        """The lines of a Nagios command file; None (the file refused and removed) if unreadable."""
        try:
            return commands.read_lines(path)
        except (commands.CommandError, OSError) as exc:
            log.error("command refused", extra={"file": path.name, "error": str(exc)})
            commands.remove(path)
            return None

    async def _command_lines(self, lines: list[str], name: str) -> None:
        """A Nagios command file's lines: passive results go the API's way (same bounds, same
        refusal of actively checked objects); anything else is refused with a log line."""
        from augenmass.api.actions import ActionError, submit_result
        from augenmass.server.control import Control

        control = Control(self)
        for number, line in enumerate(lines, 1):
            where = {"file": name, "line": number, "command": nagioscmd.command_name(line)}
            try:
                cmd = nagioscmd.parse_line(line)
                if not self._known(cmd.key):
                    raise ActionError(404, f"{cmd.key} is not in the configuration")
                answer = await submit_result(
                    control,
                    cmd.key,
                    cmd.status,
                    cmd.output,
                    execution_start=cmd.at,
                    source="command-file",
                )
            except (nagioscmd.CommandLineError, ActionError) as exc:
                log.error("command refused", extra={**where, "error": str(exc)})
                continue
            log.info(
                "command applied" if answer.applied else "command stored, not applied",
                extra={
                    **where,
                    "check": str(cmd.key),
                    **({"reason": answer.reason} if answer.reason else {}),
                },
            )
        try:
            await asyncio.wait_for(self.writer.flush(), COMMAND_COMMIT_TIMEOUT)
        except TimeoutError:
            log.warning("store slow; results applied, not yet saved", extra={"file": name})

    async def cluster_commands(self) -> None:
        """Apply the actions standby servers passed on; each row goes once it is committed."""
        from augenmass.store import clustercmd

        for cid, cmd in await clustercmd.take(self.store.engine):
            if cmd.get("action") == COMMAND_FILE:
                lines = cmd.get("lines")
                name = str(cmd.get("file", ""))[:200]
                if isinstance(lines, list) and all(isinstance(x, str) for x in lines):
                    await self._command_lines(lines, name)
                else:
                    log.error("passed-on command refused", extra={"error": "no command lines"})
                await clustercmd.done(self.store, [cid])
                continue
            try:
                kind, key, action = commands.parse(cmd, self.clock.now())
                if key is not None and not self._known(key):
                    raise commands.CommandError(self._unknown(key))
            except (commands.CommandError, ValueError) as exc:
                log.error("passed-on command refused", extra={"error": str(exc)})
                await clustercmd.done(self.store, [cid])
                continue
            await self.apply(action)
            try:
                await self.commit()
            except TimeoutError:
                return
            if kind == "check_now" and key is not None:
                self.scheduler.check_now(key)
            await clustercmd.done(self.store, [cid])
            log.info("passed-on command applied", extra={"action": kind, "check": str(key or "")})

    def _known(self, key: CheckKey) -> bool:
        return key in self.plan.services if key.service else key.host in self.plan.hosts

    def _unknown(self, key: CheckKey) -> str:
        """Why `key` is refused, with the nearest name that exists."""
        if key.host not in self.plan.hosts:
            return suggest.unknown("host", key.host, self.plan.hosts)
        names = (k.service for k in self.plan.services if k.host == key.host and k.service)
        return suggest.unknown(f"service of {key.host}:", key.service or "", names)

    async def apply(self, action: Callable[[Engine, float], Outcome]) -> Outcome:
        """Run an operator action (ack, downtime ...) through the engine and persist it."""
        async with self._lock:
            outcome = action(self.engine, self.clock.now())
        await self.persist(outcome, [])
        return outcome

    async def commit(self) -> None:
        """Wait until everything queued so far is durable (TimeoutError: the store is slow)."""
        from augenmass.store import WriteBatch

        self.writer.submit(WriteBatch(), urgent=True)
        await asyncio.wait_for(self.writer.flush(), COMMAND_COMMIT_TIMEOUT)

    async def persist(self, outcome: Outcome, results: list[CheckResult]) -> None:
        """Queue the outcome for the store; never waits for it (a full disk must not stop the
        checks). Who needs it durable waits with a bound: `writer.flush()`."""
        if not self.role.may_act():
            return  # a standby (or an active server past its lease) writes no state
        from augenmass.store import WriteBatch  # imported by the start (0.2 µs here)

        events = list(outcome.events)
        # The outbox rows of its notifications commit WITH the state change: a crash between
        # two transactions once lost the mail of a committed PROBLEM.
        queued = self.notifications.prepare(events, self.clock.now()) if events else None
        batch = WriteBatch(
            states=list(outcome.states.values()),
            downtimes_set=list(outcome.downtimes_set),
            downtimes_removed=list(outcome.downtimes_removed),
            events=events,
            results=results,
            notifications=[queued] if queued is not None else [],
        )
        if not events:
            self.writer.add(batch)  # nobody waits: it shares the next commit
            return
        done = self.writer.submit(batch, urgent=True)
        # Nothing acts on the events (the log, the dispatcher) before they are durable.
        done.add_done_callback(lambda fut: self._committed(fut, events, queued))

    def _committed(
        self, fut: asyncio.Future[None], events: list[Event], queued: Queued | None
    ) -> None:
        if fut.cancelled() or fut.exception() is not None:
            error = "cancelled" if fut.cancelled() else repr(fut.exception())
            log.error(
                "EVENTS NOT WRITTEN to the store",
                extra={
                    "events": len(events),
                    "notifications": len(queued.items) if queued else 0,
                    "error": error,
                },
            )
            return
        self.notifications.committed(queued)
        for sink in self.sinks:
            try:
                sink(events)
            except Exception:
                log.exception("event sink failed")

    # --- periodic work -------------------------------------------------------------------
    async def self_metrics(self) -> None:
        from augenmass.store import WriteBatch

        samples = self.scheduler.pop_lateness_samples()
        stats = self.scheduler.stats
        perf = [
            PerfDatum("checks_started", float(stats.checks_started), "c"),
            PerfDatum("in_flight", float(stats.in_flight)),
            PerfDatum("queued", float(stats.queued)),
        ]
        if samples:
            samples.sort()
            perf += [
                PerfDatum("lateness_p50", statistics.median(samples), "s"),
                PerfDatum(
                    "lateness_p99", samples[min(len(samples) - 1, int(len(samples) * 0.99))], "s"
                ),
                PerfDatum("lateness_max", samples[-1], "s"),
                PerfDatum("checks", float(len(samples))),
            ]
        result = CheckResult(
            SELF_KEY,
            0,
            "scheduler figures",
            perfdata=tuple(perf),
            started_at=self.clock.now(),
            source="self",
        )
        self.writer.submit(WriteBatch(results=[result]))

    async def housekeeping(self) -> None:
        await self.writer.flush()
        now = self.clock.now()
        retention = self.plan.settings.retention
        await self.store.rollup_and_prune(now, retention)
        await self.store.prune_logs(now, retention)  # notification log, outbox, audit log
        if memtrim.available():
            # The roll-up's GROUP BY sorts up to a megabyte or two of points in the SQLite
            # thread's arena: given back now, not up to a minute later (the soak's steps).
            await self.trim_memory()

    async def trim_memory(self) -> None:
        await asyncio.to_thread(memtrim.trim)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await self.clock.sleep(seconds)
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job failed", extra={"job": job.__name__})


class _Phases:
    """Seconds of each step of the start, as `<step>_s` fields of the "started" line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[f"{step}_s"] = round(now - self._last, 3)
        self._last = now


async def _stepped(steps: Generator[None, None, T]) -> T:
    """Run a sliced piece of work (a generator that yields between its slices), letting the
    event loop run between the slices; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await asyncio.sleep(0)


def log_events(events: Iterable[Event]) -> None:
    for ev in events:
        fields = {
            "check": str(ev.key),
            "event": ev.kind,
            "state": state_name(ev.state, ev.key.is_host),
            "state_type": ev.state_type.value,
            "attempt": ev.attempt,
        }
        if ev.kind == "notification":
            fields["type"] = str(ev.data.get("type", ""))
            fields["contacts"] = ",".join(ev.data.get("contacts", []))
        log.info(ev.kind, extra=fields)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s failed", task.get_name(), extra={"error": repr(task.exception())})


def _safe_url(url: str) -> str:
    """Drop any password from a database URL before it reaches a log line."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
    return url


def _import_late(cluster: bool) -> None:
    """Import what the start needs after the first checks (see the imports at the top)."""
    import augenmass.notify
    import augenmass.server.role
    import augenmass.store  # noqa: F401

    if cluster:
        import augenmass.cluster.dispatch  # noqa: F401


def _say_unreached(plan: Plan) -> None:
    """Once at start and reload: who is told nothing (no contacts, mail without a relay)."""
    from augenmass.notify.channels import unreached_note

    note = unreached_note(plan)
    if note is None:
        return
    if plan.contacts:  # contacts that were meant to be told: likely a mistake
        log.warning("notifications: %s", note)
    else:  # a first run, or a server nobody watches by mail: said, not alarming
        log.info("notifications: %s", note)
