"""The agent process: fetch its checks from the server, run them with the server's own
Scheduler and Runner, write every result to the buffer, send the buffer in order.

Three loops: `_refresh` (the checks, on a timer and when the server's version changes; kept in
DATA/checks.json so a restart during an outage keeps checking), the scheduler, and `_send`
(batches of the oldest results; an empty batch is the heartbeat; back-off while the server
cannot be reached). A result leaves the buffer only once the server has confirmed it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augenmass.agent.buffer import Buffer, Pending
from augenmass.agent.link import Link
from augenmass.agent.watch import ServerWatch
from augenmass.agent.wire import jobs_of, result_body
from augenmass.core.clock import Clock, SystemClock
from augenmass.core.private import write_private
from augenmass.core.secretkeys import install, secrets_in
from augenmass.core.values import CheckKey, CheckResult
from augenmass.runner import Runner
from augenmass.scheduler import Scheduler

if TYPE_CHECKING:
    from augenmass.agent.alerts import Alerts

log = logging.getLogger("augenmass.agent")

CHECKS_FILE = "checks.json"
BUFFER_FILE = "buffer.db"
BATCH = 200  # results per batch (the server takes up to 500)
BATCH_BYTES = 512 * 1024  # under the server's 1 MiB body limit
REFRESH_EVERY = 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
# Statuses that say "this batch holds something the server will never take"; the agent then
# finds the result(s) at fault one by one and drops only those.
REFUSED = frozenset({403, 404, 409, 422})


@dataclass
class AgentOptions:
    server: str
    token: str
    data_dir: Path
    name: str | None = None
    heartbeat: float | None = None  # None: a third of the agent's timeout, at most 30 s
    max_results: int | None = None
    max_age: float | None = None
    backoff_max: float = BACKOFF_MAX
    plugin_dirs: tuple[str, ...] = field(default_factory=tuple)
    alerts: Alerts | None = None  # watch the server and alert on this channel (agent/watch.py)


class Agent:
    def __init__(self, options: AgentOptions, clock: Clock | None = None) -> None:
        self.options = options
        install([options.token])  # never in a log line of its own
        self.clock = clock or SystemClock()
        options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kwargs: dict[str, Any] = {}
        if options.max_results is not None:
            kwargs["max_results"] = options.max_results
        if options.max_age is not None:
            kwargs["max_age"] = options.max_age
        self.buffer = Buffer(options.data_dir / BUFFER_FILE, **kwargs)
        self.link = Link(options.server, options.token)
        self.version = ""
        self.settings: dict[str, Any] = {}
        self._retry: dict[CheckKey, float] = {}
        self._intervals: dict[CheckKey, float] = {}
        self._runner: Runner | None = None
        self.scheduler: Scheduler | None = None
        self._new = asyncio.Event()  # a result waits to be sent
        self._refresh_now = asyncio.Event()
        self._has_checks = asyncio.Event()
        self._stopping = asyncio.Event()
        self.server_down_since: float | None = None  # monotonic; None while the server answers
        self.failed: str | None = None
        self.watch: ServerWatch | None = None
        if options.alerts is not None:
            agent = options.name or socket.gethostname()
            self.watch = ServerWatch(self.link, options.alerts, options.data_dir, self.clock, agent)

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self) -> None:
        cached = self._load_cache()
        if cached is not None:
            self._apply(cached, save=False)
        tasks = [
            asyncio.create_task(self._refresh(), name="refresh"),
            asyncio.create_task(self._send(), name="send"),
            asyncio.create_task(self._schedule(), name="scheduler"),
        ]
        if self.watch is not None:
            tasks.append(asyncio.create_task(self.watch.run(), name="watch"))
        try:
            await self._stopping.wait()
        finally:
            if self.scheduler is not None:
                self.scheduler.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.link.close()
            log.info("stopped", extra={"buffered": len(self.buffer)})
            self.buffer.close()

    def stop(self) -> None:
        self._stopping.set()

    async def _schedule(self) -> None:
        # The scheduler starts with the first checks (cached or fetched).
        await self._has_checks.wait()
        assert self.scheduler is not None
        await self.scheduler.run()

    # --- checks ----------------------------------------------------------------------------
    def _load_cache(self) -> dict[str, Any] | None:
        path = self.options.data_dir / CHECKS_FILE
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(
                "cached checks unreadable; waiting for the server", extra={"error": str(exc)}
            )
            return None
        return body if isinstance(body, dict) else None

    def _apply(self, body: dict[str, Any], save: bool) -> None:
        name = body.get("agent")
        if self.options.name is not None and name != self.options.name:
            self.failed = f"the token belongs to agent {name!r}, not {self.options.name!r} (--name)"
            log.error("wrong agent", extra={"error": self.failed})
            self.stop()
            return
        if self.watch is not None and isinstance(name, str):
            self.watch.agent = name
        checks = list(body.get("checks") or [])
        install(secrets_in(checks))  # their passwords are redacted in its logs, as the server's
        jobs, self._retry = jobs_of(checks)
        self._intervals = {k: j.interval for k, j in jobs.items()}
        self.settings = dict(body.get("settings") or {})
        if self._runner is None:
            dirs = self.options.plugin_dirs or tuple(self.settings.get("plugin_dirs") or ())
            limit = int(self.settings.get("output_limit") or 65536)
            # no probe worker processes: the agent stays small, its checks are few
            self._runner = Runner(dirs, limit, clock=self.clock)
        if self.scheduler is None:
            self.scheduler = Scheduler(
                self.clock,
                self._runner.run,
                self._on_result,
                max_concurrency=int(self.settings.get("max_concurrent_checks") or 64),
                max_spread=float(self.settings.get("max_check_spread") or 60.0),
                coalesce=0.02,
                coalesce_max=0.05,
            )
        self.scheduler.set_jobs(jobs)
        self._has_checks.set()
        self.version = str(body.get("version") or "")
        if save:
            write_private(
                self.options.data_dir / CHECKS_FILE, json.dumps(body, separators=(",", ":"))
            )
        log.info("checks loaded", extra={"checks": len(jobs), "version": self.version})

    async def _refresh(self) -> None:
        while True:
            headers = {"If-None-Match": f'"{self.version}"'} if self.version else {}
            status, body, _ = await self.link.request("GET", "/api/agent/checks", headers=headers)
            if status == 200 and isinstance(body, dict):
                self._apply(body, save=True)
            elif status not in (0, 304):
                log.error(
                    "the server refused the checks request",
                    extra={"status": status, "detail": _detail(body)},
                )
            self._refresh_now.clear()
            try:
                await asyncio.wait_for(self._refresh_now.wait(), REFRESH_EVERY)
            except TimeoutError:
                pass

    # --- results ---------------------------------------------------------------------------
    async def _on_result(self, result: CheckResult) -> float | None:
        body = result_body(result)
        try:
            await asyncio.to_thread(self.buffer.add, body, self.clock.now())
        except Exception as exc:  # a full disk must not stop the checks: say it loudly
            log.error("result not buffered", extra={"check": str(result.key), "error": str(exc)})
        self._new.set()
        if result.status != 0:
            return self._retry.get(result.key)
        return self._intervals.get(result.key)

    def _heartbeat(self) -> float:
        if self.options.heartbeat is not None:
            return self.options.heartbeat
        timeout = float(self.settings.get("timeout") or 180.0)
        return max(1.0, min(30.0, timeout / 3))

    async def _send(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            pending = await asyncio.to_thread(self.buffer.oldest, BATCH, BATCH_BYTES)
            status, answer = await self._post(pending)
            if status == 200:
                self._link_up()
                delay = BACKOFF_FIRST
                if pending:
                    await asyncio.to_thread(self.buffer.confirm, pending[-1].seq)
                if isinstance(answer, dict) and answer.get("config_version") not in (
                    None,
                    self.version,
                ):
                    self._refresh_now.set()
                if len(pending) == BATCH:
                    continue  # more waiting: send at once
                await self._wait_for_work()
                continue
            if status in REFUSED and pending:
                self._link_up()
                await self._isolate(pending)
                self._refresh_now.set()  # a refused key: the checks have probably changed
                continue
            self._link_down(status, answer)
            # back-off with jitter, so agents of one office do not all knock at once
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(self.options.backoff_max, delay * 2)

    async def _wait_for_work(self) -> None:
        self._new.clear()
        try:
            await asyncio.wait_for(self._new.wait(), self._heartbeat())
        except TimeoutError:
            pass  # nothing new: the empty batch is the heartbeat
        await asyncio.sleep(0.2)  # results finishing together share a batch

    async def _post(self, pending: list[Pending]) -> tuple[int, Any]:
        body = {
            "epoch": self.buffer.epoch,
            "sent_at": self.clock.now(),
            "dropped": self.buffer.dropped,
            "buffered": len(self.buffer),
            "config_version": self.version,
            "results": [{"seq": p.seq, **p.body} for p in pending],
        }
        status, answer, _ = await self.link.request("POST", "/api/agent/results", body)
        return status, answer

    async def _isolate(self, pending: list[Pending]) -> None:
        """Send one by one: taken ones are confirmed, refused ones dropped (and logged)."""
        for one in pending:
            status, answer = await self._post([one])
            if status == 200:
                await asyncio.to_thread(self.buffer.confirm, one.seq)
            elif status in REFUSED:
                log.warning(
                    "result refused by the server; dropped",
                    extra={
                        "check": f"{one.body.get('host')}/{one.body.get('service') or ''}",
                        "status": status,
                        "detail": _detail(answer),
                    },
                )
                await asyncio.to_thread(self.buffer.discard, one.seq)
            else:
                return  # the link went away meanwhile: the send loop backs off

    def _link_up(self) -> None:
        if self.server_down_since is not None:
            log.info("server reachable again", extra={"buffered": len(self.buffer)})
        self.server_down_since = None

    def _link_down(self, status: int, answer: Any) -> None:
        if self.server_down_since is None:
            self.server_down_since = self.clock.monotonic()
            log.warning(
                "server unreachable; buffering results",
                extra={"status": status, "detail": _detail(answer)},
            )


def _detail(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("detail", ""))[:300]
    return ""
