"""The server's side of `augenmass agent`: what each agent runs, its batches, its heartbeat.

Each result an agent sends carries (buffer epoch, seq); the highest seq taken per agent is
written to DATA/agents.json once the results are committed, so a batch sent again after a lost
answer (or a restart) is taken once. Results are applied in the order they were measured; an
older one than the current state lands in history and graphs only (the engine's rule).

Silence longer than the agent's `timeout` makes the agent's host DOWN and the hosts and
services behind it UNREACHABLE/UNKNOWN "no data from agent NAME since HH:MM"; the engine then
sends the one notification about the agent (the children are behind a DOWN parent).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from augenmass.control import AgentBatch, AgentChecks, AgentReceipt, AgentStatus
from augenmass.core.clock import Clock
from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey, CheckResult
from augenmass.runner.macros import build_macros
from augenmass.state import Outcome

log = logging.getLogger("augenmass.agents")

MARKS_FILE = "agents.json"
HEARTBEAT_EVERY = 60.0  # the agent's host is written UP at most this often while it talks
UP, DOWN, UNREACHABLE, UNKNOWN = 0, 2, 2, 3

Ingest = Callable[[CheckResult], Awaitable[tuple[Outcome, float | None]]]
Flush = Callable[[], Awaitable[None]]


@dataclass
class _Live:
    """What the server knows of one agent since it started (not persisted but the mark)."""

    last_seen_mono: float  # since the server start when never seen
    last_seen: float | None = None  # wall time of the last batch
    last_heartbeat: float = float("-inf")  # monotonic time the host was last written UP
    down: bool = False  # declared silent; cleared by its next batch
    skew: float | None = None
    dropped: int = 0
    buffered: int = 0
    version: str | None = None
    epoch: str = ""
    last_seq: int = 0


class AgentHub:
    def __init__(
        self, data_dir: Path, clock: Clock, plan: Plan, ingest: Ingest, flush: Flush
    ) -> None:
        self._path = data_dir / MARKS_FILE
        self._clock = clock
        self._plan = plan
        self._ingest = ingest
        self._flush = flush
        self._live: dict[str, _Live] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._checks: dict[str, AgentChecks] = {}
        self._marks = _load_marks(self._path)
        self.reload(plan)

    def reload(self, plan: Plan) -> None:
        self._plan = plan
        self._checks = {}
        now = self._clock.monotonic()
        for name in plan.agents:
            live = self._live.setdefault(name, _Live(last_seen_mono=now))
            mark = self._marks.get(name)
            if mark is not None and not live.epoch:
                live.epoch, live.last_seq = mark
        for gone in set(self._live) - set(plan.agents):
            del self._live[gone]

    # --- what an agent runs ----------------------------------------------------------------
    def checks(self, agent: str) -> AgentChecks:
        found = self._checks.get(agent)
        if found is None:
            found = self._checks[agent] = _checks_of(self._plan, agent)
        return found

    # --- batches ---------------------------------------------------------------------------
    async def receive(self, agent: str, batch: AgentBatch) -> AgentReceipt:
        lock = self._locks.setdefault(agent, asyncio.Lock())
        async with lock:  # one batch of an agent at a time: its marks go up in order
            return await self._receive(agent, batch)

    async def _receive(self, agent: str, batch: AgentBatch) -> AgentReceipt:
        live = self._live[agent]
        now = self._clock.now()
        skew = batch.sent_at - now
        if batch.epoch != live.epoch:
            if live.epoch:
                log.warning(
                    "agent started a new buffer; its numbering starts again",
                    extra={"agent": agent},
                )
            live.epoch, live.last_seq = batch.epoch, 0
        fresh = [(seq, r) for seq, r in batch.results if seq > live.last_seq]
        fresh.sort(key=lambda item: (item[1].started_at, item[0]))
        was_down = live.down
        self._seen(live, batch, skew)
        if was_down or self._clock.monotonic() - live.last_heartbeat >= HEARTBEAT_EVERY:
            await self._heartbeat(agent, live, was_down)
        late = 0
        for _, result in fresh:
            outcome, _ = await self._ingest(result)
            late += outcome.reason is not None
        top = max((seq for seq, _ in batch.results), default=0)
        if top > live.last_seq:
            await self._flush()  # committed before the mark says so: nothing lost on a crash
            live.last_seq = top
            self._marks[agent] = (live.epoch, top)
            await asyncio.to_thread(_save_marks, self._path, dict(self._marks))
        return AgentReceipt(
            accepted=len(fresh),
            late=late,
            duplicates=len(batch.results) - len(fresh),
            last_seq=live.last_seq,
            skew=round(skew, 3),
        )

    def _seen(self, live: _Live, batch: AgentBatch, skew: float) -> None:
        live.last_seen_mono = self._clock.monotonic()
        live.last_seen = self._clock.now()
        live.down = False
        live.skew = round(skew, 3)
        if batch.dropped > live.dropped:
            log.warning(
                "agent's buffer was full: it dropped its oldest results",
                extra={"dropped": batch.dropped},
            )
        live.dropped = batch.dropped
        live.buffered = batch.buffered
        live.version = batch.config_version or live.version

    async def _heartbeat(self, agent: str, live: _Live, back: bool) -> None:
        """The agent's host UP (its host check); after a silence, also the hosts behind it that
        have no check of their own (nothing else would bring them back)."""
        live.last_heartbeat = self._clock.monotonic()
        now = self._clock.now()
        skew = f"{live.skew:+.1f}s" if live.skew is not None else "unknown"
        text = f"agent {agent} sends results (clock skew {skew}"
        if live.dropped:
            text += f", {live.dropped} results dropped from its full buffer"
        await self._ingest(_synthetic(CheckKey(agent), UP, text + ")", now, agent))
        if not back:
            return
        log.info("agent is back", extra={"agent": agent})
        for host in self._plan.agents[agent].hosts:
            plan_host = self._plan.hosts.get(host)
            if host != agent and plan_host is not None and plan_host.check is None:
                back_up = _synthetic(CheckKey(host), UP, f"agent {agent} is back", now, agent)
                await self._ingest(back_up)

    # --- silence ---------------------------------------------------------------------------
    async def tick(self) -> None:
        mono = self._clock.monotonic()
        for name, agent in self._plan.agents.items():
            live = self._live.get(name)
            if live is None or live.down or mono - live.last_seen_mono < agent.timeout:
                continue
            live.down = True
            await self._silent(name, live)

    async def _silent(self, agent: str, live: _Live) -> None:
        now = self._clock.now()
        since = (
            live.last_seen
            if live.last_seen is not None
            else now - (self._clock.monotonic() - live.last_seen_mono)
        )
        text = f"no data from agent {agent} since {_clock_time(since, now, self._plan)}"
        if live.last_seen is None:
            text += " (none since the server started)"
        log.warning("agent silent", extra={"agent": agent, "since": round(since, 3)})
        await self._ingest(_synthetic(CheckKey(agent), DOWN, text, now, agent))
        plan = self._plan
        for host in plan.agents[agent].hosts:
            if host == agent:
                continue
            # raw 2 from a passive host result: UNREACHABLE, its parent (the agent) being DOWN
            await self._ingest(_synthetic(CheckKey(host), UNREACHABLE, text, now, agent))
        for host in plan.agents[agent].hosts:
            for svc in plan.services_of(host):
                await self._ingest(_synthetic(svc.key, UNKNOWN, f"UNREACHABLE: {text}", now, agent))

    # --- figures ---------------------------------------------------------------------------
    def status(self) -> list[AgentStatus]:
        out: list[AgentStatus] = []
        for name, agent in sorted(self._plan.agents.items()):
            live = self._live.get(name) or _Live(last_seen_mono=0.0)
            out.append(
                {
                    "name": name,
                    "hosts": len(agent.hosts),
                    "checks": len(self.checks(name).checks),
                    "connected": live.last_seen is not None and not live.down,
                    "last_seen": live.last_seen,
                    "skew": live.skew,
                    "dropped": live.dropped,
                    "buffered": live.buffered,
                    "config_version": live.version,
                }
            )
        return out


def _synthetic(key: CheckKey, status: int, text: str, now: float, agent: str) -> CheckResult:
    # passive: a host result then speaks in host states (2 = UNREACHABLE behind a DOWN parent)
    return CheckResult(
        key=key, status=status, output=text, started_at=now, source=f"agent:{agent}", passive=True
    )


def _clock_time(ts: float, now: float, plan: Plan) -> str:
    zone = ZoneInfo(plan.settings.timezone)
    at = datetime.fromtimestamp(ts, zone)
    same_day = at.date() == datetime.fromtimestamp(now, zone).date()
    return at.strftime("%H:%M") if same_day else at.strftime("%Y-%m-%d %H:%M")


def _checks_of(plan: Plan, agent: str) -> AgentChecks:
    checks: list[dict[str, Any]] = []
    for host_name in plan.agents[agent].hosts:
        host = plan.hosts[host_name]
        items: list[tuple[CheckKey, Any, Any]] = []
        if host.check is not None and host_name != agent:
            items.append((host.key, host.check, None))
        items += [(s.key, s.check, s) for s in plan.services_of(host_name)]
        for key, spec, svc in items:
            policy = plan.policy(key)
            checks.append(
                {
                    "host": key.host,
                    "service": key.service,
                    "type": spec.type,
                    "command": list(spec.command),
                    "options": dict(spec.options),
                    "timeout": spec.timeout,
                    "timeout_state": spec.timeout_state,
                    "exit_code_state": spec.exit_code_state,
                    "macros": build_macros(host, svc, spec),
                    "interval": policy.check_interval,
                    "retry_interval": policy.retry_interval,
                    "active": policy.active_checks,
                }
            )
    settings = {
        "plugin_dirs": list(plan.settings.plugin_dirs),
        "output_limit": plan.settings.output_limit,
        "max_concurrent_checks": plan.settings.max_concurrent_checks,
        "max_check_spread": plan.settings.max_check_spread,
        "timeout": plan.agents[agent].timeout,
        "max_age": plan.agents[agent].max_age,
    }
    # JSON round trip: what the agent gets is exactly what the digest covers
    text = json.dumps({"checks": checks, "settings": settings}, sort_keys=True, default=str)
    body = json.loads(text)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return AgentChecks(agent, version, body["checks"], body["settings"])


def _load_marks(path: Path) -> dict[str, tuple[str, int]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # Without the marks a batch sent again would be taken twice (history only: the state
        # cannot go back); say so rather than refuse to start.
        log.error("cannot read the agents' marks; starting without", extra={"error": str(exc)})
        return {}
    marks: dict[str, tuple[str, int]] = {}
    if isinstance(raw, dict):
        for name, mark in raw.items():
            if isinstance(mark, dict) and isinstance(mark.get("seq"), int):
                marks[str(name)] = (str(mark.get("epoch", "")), int(mark["seq"]))
    return marks


def _save_marks(path: Path, marks: dict[str, tuple[str, int]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    data = {name: {"epoch": epoch, "seq": seq} for name, (epoch, seq) in marks.items()}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
