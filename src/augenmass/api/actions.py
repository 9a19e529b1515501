"""Operator actions shared by the JSON API and the web UI.

Each takes the server control and validated values, asks the server for the change (which
returns once it is committed), and writes the audit log. Failures raise `ActionError` with the
HTTP status that fits (404 unknown object, 409 nothing to do, 422 impossible values, 503 slow
store).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from augenmass.api import audit
from augenmass.control import ActionError, ResultAnswer
from augenmass.core.duration import format_age, format_duration
from augenmass.core.perfdata import parse_perfdata
from augenmass.core.plan import Settings
from augenmass.core.pluginoutput import sanitize, split_output
from augenmass.core.secrets import strip_bidi
from augenmass.core.values import Acknowledgement, CheckKey, CheckResult, Downtime

if TYPE_CHECKING:
    from augenmass.control import ServerControl

__all__ = [
    "ActionError",
    "acknowledge",
    "check_now",
    "known",
    "passive_refusal",
    "reload_config",
    "remove_acknowledgement",
    "remove_downtime",
    "schedule_downtime",
    "submit_result",
]

MAX_OUTPUT = 65536


def known(control: ServerControl, key: CheckKey) -> bool:
    if key.service is not None:
        return key in control.plan.services
    return key.host in control.plan.hosts


def _require(control: ServerControl, key: CheckKey) -> None:
    if not known(control, key):
        raise ActionError(404, f"{key} is not in the configuration")


async def acknowledge(
    control: ServerControl,
    key: CheckKey,
    author: str,
    comment: str,
    *,
    sticky: bool = False,
    notify: bool = False,
    persistent: bool = False,
    expires: float | None = None,
) -> None:
    _require(control, key)
    comment = strip_bidi(comment)  # the audit log gets the text the acknowledgement keeps
    now = control.clock.now()
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
    await control.acknowledge(key, ack)
    await audit.record(control, author, "acknowledge", str(key), comment)


async def remove_acknowledgement(control: ServerControl, key: CheckKey, author: str) -> None:
    _require(control, key)
    await control.remove_acknowledgement(key)
    await audit.record(control, author, "remove_acknowledgement", str(key))


async def schedule_downtime(
    control: ServerControl,
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
    _require(control, key)
    comment = strip_bidi(comment)
    now = control.clock.now()
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
        keys += [CheckKey(h) for h in _descendants(control, key.host)]
    base = uuid.uuid4().hex
    downtimes = [
        Downtime(
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
        for one in keys
    ]
    await control.schedule_downtimes(downtimes)
    ids = [dt.id for dt in downtimes]
    await audit.record(control, author, "downtime", str(key), _downtime_detail(ids, comment))
    return ids


def _downtime_detail(ids: list[str], comment: str) -> str:
    return f"{comment} (ids: {', '.join(ids)})" if comment else f"ids: {', '.join(ids)}"


def _descendants(control: ServerControl, host: str) -> list[str]:
    """Child hosts, their children and so on (parents form a DAG; the set stops cycles)."""
    seen: set[str] = set()
    todo = [host]
    out: list[str] = []
    while todo:
        for child in control.plan.children_of(todo.pop()):
            if child not in seen and child != host:
                seen.add(child)
                out.append(child)
                todo.append(child)
    return out


async def remove_downtime(control: ServerControl, downtime_id: str, author: str) -> None:
    """Remove a downtime and what was scheduled with it: its services ("ID/service", made by
    the engine) and child hosts ("ID@host", made here) — one action, one undo."""
    if downtime_id not in control.downtimes:
        raise ActionError(404, f"no downtime with id {downtime_id!r}")
    prefixes = (f"{downtime_id}/", f"{downtime_id}@")
    family = [downtime_id] + [
        i for i in control.downtimes if i.startswith(prefixes) and i != downtime_id
    ]
    await control.remove_downtimes(family)
    await audit.record(control, author, "remove_downtime", downtime_id)


async def check_now(control: ServerControl, key: CheckKey, author: str) -> bool:
    """Make the check due now; False when it is running already (that run is the re-check)."""
    _require(control, key)
    started = control.check_now(key)
    await audit.record(control, author, "check_now", str(key))
    return started


async def submit_result(
    control: ServerControl,
    key: CheckKey,
    exit_status: int,
    plugin_output: str,
    *,
    performance_data: list[str] | str | None = None,
    check_source: str | None = None,
    execution_start: float | None = None,
    execution_end: float | None = None,
    source: str = "api",
) -> ResultAnswer:
    """A passive result, as Icinga 2's process-check-result takes it.

    Refused (422, nothing stored) when it started longer ago than settings.passive_max_age or
    further ahead than passive_max_future; a start slightly ahead counts as now."""
    _require(control, key)
    if exit_status not in (0, 1, 2, 3):  # for a host the engine maps it as for its plugin
        raise ActionError(422, "exit_status must be 0, 1, 2 or 3")
    refused = passive_refusal(control, key)
    if refused:
        raise ActionError(409, refused)
    parsed = split_output(sanitize(plugin_output[:MAX_OUTPUT]))
    perf_text = parsed.perfdata
    if performance_data:
        extra = (
            performance_data if isinstance(performance_data, str) else " ".join(performance_data)
        )
        perf_text = f"{perf_text} {sanitize(extra[:MAX_OUTPUT])}".strip()
    perf, problems = parse_perfdata(perf_text)
    now = control.clock.now()
    started = execution_start if execution_start is not None else now
    ended = execution_end if execution_end is not None else started
    duration = max(0.0, ended - started)
    started = _passive_start(control.plan.settings, started, now)
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
        duration=duration,
        source=source,
        passive=True,
        notes=notes,
    )
    return await control.submit_result(result)


def passive_refusal(control: ServerControl, key: CheckKey) -> str | None:
    """Why `key` takes no passive result, or None. An actively checked object refuses them
    unless it allows them: else a submit-only token could overwrite a real problem with OK."""
    policy = control.plan.policy(key)
    if key.service is None and control.plan.hosts[key.host].check is None:
        # Nothing would ever replace a passive DOWN here (no check, no freshness timer).
        return (
            f"{key} has no check; a passive state would never expire:"
            " set expect_every on it to take passive results"
        )
    if policy.accepts_passive:
        return None
    if policy.passive_checks is False:
        return f"{key} does not accept passive results (passive_checks: false)"
    return (
        f"{key} is checked actively and does not accept passive results;"
        " set passive_checks: true on it to allow them"
    )


def _passive_start(settings: Settings, started: float, now: float) -> float:
    """The start time a passive result counts with, or ActionError(422) outside the bounds.

    Checked before anything is stored: a result stamped 1970 (execution_start 0) would put a
    point decades before every other one, and one far ahead would stay "newest" for as long."""
    age = now - started
    if age > settings.passive_max_age:
        raise ActionError(
            422,
            f"execution_start is {format_age(age)} ago, older than settings.passive_max_age"
            f" ({format_duration(settings.passive_max_age)}): refused, nothing stored",
        )
    if -age > settings.passive_max_future:
        raise ActionError(
            422,
            f"execution_start is {format_age(-age)} in the future, more than"
            f" settings.passive_max_future ({format_duration(settings.passive_max_future)});"
            " check the sender's clock: refused, nothing stored",
        )
    # Clock skew within the tolerance: the result counts as started now, for the state and
    # for its perfdata points alike (a point ahead of now would stay the newest one).
    return min(started, now)


async def reload_config(control: ServerControl, author: str) -> bool:
    ok = await control.reload()
    await audit.record(control, author, "reload", "config", "ok" if ok else "refused")
    return ok
