"""Operator actions shared by the JSON API and the web UI.

Each takes the server and validated values, runs through the engine (`Server.apply`), waits
until the change is committed, and writes the audit log. Failures raise `ActionError` with the
HTTP status that fits (404 unknown object, 409 nothing to do, 422 impossible values).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from augenmass.api import audit
from augenmass.core.perfdata import parse_perfdata
from augenmass.core.values import Acknowledgement, CheckKey, CheckResult, Downtime
from augenmass.core.pluginoutput import sanitize, split_output
from augenmass.state import Engine, Outcome
from augenmass.store import WriteBatch

if TYPE_CHECKING:
    from augenmass.server.server import Server

COMMIT_TIMEOUT = 30.0
MAX_OUTPUT = 65536


class ActionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def known(server: Server, key: CheckKey) -> bool:
    if key.service is not None:
        return key in server.plan.services
    return key.host in server.plan.hosts


def _require(server: Server, key: CheckKey) -> None:
    if not known(server, key):
        raise ActionError(404, f"{key} is not in the configuration")


async def _commit(server: Server) -> None:
    """Wait until everything submitted so far is durable (an empty urgent batch forces it)."""
    server.writer.submit(WriteBatch(), urgent=True)
    try:
        await asyncio.wait_for(server.writer.flush(), COMMIT_TIMEOUT)
    except TimeoutError as exc:
        raise ActionError(
            503, "the store is slow; the action is applied but not yet saved"
        ) from exc


def _refused(outcome: Outcome) -> None:
    if outcome.reason is not None:
        raise ActionError(409, outcome.reason)


async def acknowledge(
    server: Server,
    key: CheckKey,
    author: str,
    comment: str,
    *,
    sticky: bool = False,
    notify: bool = False,
    persistent: bool = False,
    expires: float | None = None,
) -> None:
    _require(server, key)
    now = server.clock.now()
    if expires is not None and expires <= now:
        raise ActionError(422, "the acknowledgement would expire before it starts")
    ack = Acknowledgement(
        author=author,
        comment=comment,
        at=now,
        sticky=sticky,
        notify=notify,
        persistent=persistent,
        expires_at=expires,
    )
    _refused(await server.apply(lambda eng, t: eng.acknowledge(key, ack, t)))
    await _commit(server)
    await audit.record(server, author, "acknowledge", str(key), comment)


async def remove_acknowledgement(server: Server, key: CheckKey, author: str) -> None:
    _require(server, key)
    _refused(await server.apply(lambda eng, t: eng.remove_acknowledgement(key, t)))
    await _commit(server)
    await audit.record(server, author, "remove_acknowledgement", str(key))


async def schedule_downtime(
    server: Server,
    key: CheckKey,
    author: str,
    comment: str,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    fixed: bool = True,
    all_services: bool = False,
    child_hosts: bool = False,
) -> list[str]:
    """Schedule a downtime; returns the ids of the downtimes created (one per host given,
    children included; the engine adds one per service under each with all_services)."""
    _require(server, key)
    now = server.clock.now()
    start = now if start is None else start
    if end is None:
        if not duration or duration <= 0:
            raise ActionError(422, "a downtime needs 'end' or a positive 'duration'")
        end = start + duration
    if end <= start:
        raise ActionError(422, "a downtime must end after it starts")
    if not fixed and (not duration or duration <= 0):
        raise ActionError(422, "a flexible downtime needs a positive 'duration'")
    if end <= now:
        raise ActionError(422, "the downtime has already ended")
    keys = [key]
    if child_hosts and key.service is None:
        keys += [CheckKey(h) for h in _descendants(server, key.host)]
    ids: list[str] = []
    base = uuid.uuid4().hex
    for one in keys:
        dt = Downtime(
            id=base if one == key else f"{base}@{one.host}",
            key=one,
            start=start,
            end=end,
            fixed=fixed,
            duration=(end - start) if fixed else float(duration or 0.0),
            author=author,
            comment=comment,
            all_services=all_services and one.service is None,
        )
        try:
            _refused(await server.apply(_scheduler(dt)))
        except ValueError as exc:
            raise ActionError(422, str(exc)) from exc
        ids.append(dt.id)
    await _commit(server)
    await audit.record(server, author, "downtime", str(key), _downtime_detail(ids, comment))
    return ids


def _scheduler(dt: Downtime) -> Callable[[Engine, float], Outcome]:
    return lambda eng, t: eng.schedule_downtime(dt, t)


def _remover(dt_id: str) -> Callable[[Engine, float], Outcome]:
    return lambda eng, t: eng.remove_downtime(dt_id, t)


def _downtime_detail(ids: list[str], comment: str) -> str:
    return f"{comment} (ids: {', '.join(ids)})" if comment else f"ids: {', '.join(ids)}"


def _descendants(server: Server, host: str) -> list[str]:
    """Child hosts, their children and so on (parents form a DAG; the set stops cycles)."""
    seen: set[str] = set()
    todo = [host]
    out: list[str] = []
    while todo:
        for child in server.plan.children_of(todo.pop()):
            if child not in seen and child != host:
                seen.add(child)
                out.append(child)
                todo.append(child)
    return out


async def remove_downtime(server: Server, downtime_id: str, author: str) -> None:
    """Remove a downtime and what was scheduled with it: its services ("ID/service", made by
    the engine) and child hosts ("ID@host", made here) — one action, one undo."""
    if downtime_id not in server.engine.downtimes:
        raise ActionError(404, f"no downtime with id {downtime_id!r}")
    prefixes = (f"{downtime_id}/", f"{downtime_id}@")
    family = [downtime_id] + [
        i for i in server.engine.downtimes if i.startswith(prefixes) and i != downtime_id
    ]
    for one in family:
        if one in server.engine.downtimes:  # an earlier removal may have taken it along
            await server.apply(_remover(one))
    await _commit(server)
    await audit.record(server, author, "remove_downtime", downtime_id)


async def check_now(server: Server, key: CheckKey, author: str) -> bool:
    """Make the check due now; False when it is running already (that run is the re-check)."""
    _require(server, key)
    started = server.scheduler.check_now(key)
    await audit.record(server, author, "check_now", str(key))
    return started


async def submit_result(
    server: Server,
    key: CheckKey,
    exit_status: int,
    plugin_output: str,
    *,
    performance_data: list[str] | str | None = None,
    check_source: str | None = None,
    execution_start: float | None = None,
    execution_end: float | None = None,
) -> None:
    """A passive result, as Icinga 2's process-check-result takes it."""
    _require(server, key)
    if exit_status not in (0, 1, 2, 3):  # for a host the engine maps it as for its plugin
        raise ActionError(422, "exit_status must be 0, 1, 2 or 3")
    if not server.plan.policy(key).passive_checks:
        raise ActionError(409, f"{key} does not accept passive results")
    parsed = split_output(sanitize(plugin_output[:MAX_OUTPUT]))
    perf_text = parsed.perfdata
    if performance_data:
        extra = (
            performance_data if isinstance(performance_data, str) else " ".join(performance_data)
        )
        perf_text = f"{perf_text} {sanitize(extra[:MAX_OUTPUT])}".strip()
    perf, problems = parse_perfdata(perf_text)
    now = server.clock.now()
    started = execution_start if execution_start is not None else now
    ended = execution_end if execution_end is not None else started
    notes = tuple(problems)
    if check_source:
        notes += (f"check_source: {sanitize(check_source)[:100]}",)
    result = CheckResult(
        key=key,
        status=exit_status,
        output=parsed.output,
        long_output=parsed.long_output,
        perfdata=perf,
        started_at=started,
        duration=max(0.0, ended - started),
        source="api",
        passive=True,
        notes=notes,
    )
    await server.ingest(result)


async def reload_config(server: Server, author: str) -> bool:
    ok = await server.reload()
    await audit.record(server, author, "reload", "config", "ok" if ok else "refused")
    return ok
