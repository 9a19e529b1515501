"""What the API shows of hosts and services: current state, never config secrets.

Check commands, options and vars can hold passwords and SNMP communities, so none of them are
ever part of an answer; only names, groups, tags, the address and the check's own output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from augenmass.core.values import (
    CheckKey,
    CheckState,
    PerfDatum,
    problem_start,
    shown_since,
    state_name,
)

if TYPE_CHECKING:
    from augenmass.control import ServerControl

# Severity for sorting problems: hosts down first, then CRITICAL, UNKNOWN, WARNING.
_RANK = {"DOWN": 0, "UNREACHABLE": 1, "CRITICAL": 2, "UNKNOWN": 3, "WARNING": 4}
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN", "UP", "DOWN", "UNREACHABLE", "PENDING")


def state_label(st: CheckState) -> str:
    return state_name(st.state, st.key.is_host) if st.checked else "PENDING"


def in_downtime(control: ServerControl, key: CheckKey) -> bool:
    states = control.states
    own = states.get(key)
    host = states.get(CheckKey(key.host))
    return bool((own and own.downtime_depth) or (host and host.downtime_depth))


def host_problem(control: ServerControl, key: CheckKey) -> bool:
    if key.service is None:
        return False
    host = control.states.get(CheckKey(key.host))
    return bool(host and host.checked and host.state != 0)


def is_problem(st: CheckState) -> bool:
    return st.checked and st.state != 0


def handled(control: ServerControl, st: CheckState) -> bool:
    return (
        st.acknowledgement is not None
        or in_downtime(control, st.key)
        or host_problem(control, st.key)
    )


def perf_view(d: PerfDatum) -> dict[str, Any]:
    return {
        "label": d.label,
        "value": d.value,
        "uom": d.uom,
        "warn": d.warn,
        "crit": d.crit,
        "min": d.min,
        "max": d.max,
    }


def state_view(control: ServerControl, st: CheckState, *, full: bool = False) -> dict[str, Any]:
    ack = st.acknowledgement
    view: dict[str, Any] = {
        "host": st.key.host,
        "service": st.key.service,
        "state": state_label(st),
        "state_type": str(st.state_type),
        "attempt": st.attempt,
        "last_check": st.last_check,
        "last_state_change": st.last_state_change,
        # the current problem's first non-OK result (null without a problem): the UI's "since"
        "problem_since": problem_start(st),
        "output": st.output,
        "acknowledged": ack is not None,
        "in_downtime": in_downtime(control, st.key),
        "flapping": st.is_flapping,
        "handled": handled(control, st),
    }
    if full:
        view["long_output"] = st.long_output
        view["perfdata"] = [perf_view(d) for d in st.perfdata]
        view["acknowledgement"] = (
            None
            if ack is None
            else {
                "author": ack.author,
                "comment": ack.comment,
                "at": ack.at,
                "sticky": ack.sticky,
                "expires": ack.expires_at,
            }
        )
        view["downtimes"] = [
            {
                "id": d.id,
                "start": d.start,
                "end": d.end,
                "fixed": d.fixed,
                "duration": d.duration,
                "active": d.started_at is not None,
                "author": d.author,
                "comment": d.comment,
            }
            for d in control.downtimes.values()
            if d.key == st.key
        ]
    return view


def host_view(control: ServerControl, name: str) -> dict[str, Any]:
    host = control.plan.hosts[name]
    st = control.states.get(host.key) or CheckState(key=host.key, checked=False)
    view = state_view(control, st)
    if host.check is None and host.agent is None and host.key not in control.states:
        # assumed up until a result says otherwise: a passive DOWN for a check-less host is
        # DOWN here as in the UI, the CLI and the engine
        view["state"] = "UP"
    view.update(
        display_name=host.display_name or host.name,
        address=host.address,
        parents=list(host.parents),
        groups=list(host.groups),
        tags=list(host.tags),
        services=len(control.plan.services_of(name)),
        agent=host.agent,
    )
    if name in control.plan.agents:
        # the agent's own host: its link, clock skew and buffer
        view["agent_status"] = next(
            (dict(a) for a in control.agent_status() if a["name"] == name), None
        )
    return view


def service_view(control: ServerControl, key: CheckKey, *, full: bool = False) -> dict[str, Any]:
    svc = control.plan.services[key]
    st = control.states.get(key) or CheckState(key=key, checked=False)
    view = state_view(control, st, full=full)
    view.update(
        display_name=svc.display_name or svc.name,
        groups=list(svc.groups),
        tags=list(svc.tags),
        check_type=svc.check.type,
    )
    return view


@dataclass(frozen=True, slots=True)
class ProblemFilter:
    state: frozenset[str] = frozenset()
    handled: bool | None = None
    tag: str | None = None
    hostgroup: str | None = None


def problems(
    control: ServerControl, filt: ProblemFilter, limit: int = 1000
) -> list[dict[str, Any]]:
    """Current problems: unhandled first, then by severity, then the longest-standing first."""
    plan = control.plan
    picked: list[tuple[tuple[int, int, float, str, str], CheckState]] = []
    for st in _candidates(control.states.values()):
        label = state_label(st)
        if filt.state and label not in filt.state:
            continue
        is_handled = handled(control, st)
        if filt.handled is not None and is_handled != filt.handled:
            continue
        host = plan.hosts.get(st.key.host)
        if host is None:
            continue
        if filt.hostgroup is not None and filt.hostgroup not in host.groups:
            continue
        if filt.tag is not None:
            svc = plan.services.get(st.key) if st.key.service else None
            tags = host.tags + (svc.tags if svc else ())
            if filt.tag not in tags:
                continue
        order = (
            int(is_handled),
            _RANK.get(label, 9),
            shown_since(st),
            st.key.host,
            st.key.service or "",
        )
        picked.append((order, st))
    picked.sort(key=lambda p: p[0])
    return [state_view(control, st) for _, st in picked[:limit]]


def _candidates(states: Iterable[CheckState]) -> Iterable[CheckState]:
    return (st for st in states if is_problem(st))


def counts(control: ServerControl) -> dict[str, int]:
    out = dict.fromkeys(STATE_NAMES, 0)
    for key in control.plan.services:
        st = control.states.get(key)
        out[state_label(st) if st else "PENDING"] += 1
    return out
