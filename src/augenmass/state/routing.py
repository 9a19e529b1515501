"""Who gets a notification: contacts, contact groups, escalations, contact filters.

The rules: docs/semantics.md §12.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from augenmass.core.plan import Contact, Escalation, Plan, Policy
from augenmass.core.values import state_name

EDGE_OPTIONS = {
    "FLAPPINGSTART": "flapping",
    "FLAPPINGSTOP": "flapping",
    "DOWNTIMESTART": "downtime",
    "DOWNTIMEEND": "downtime",
    "DOWNTIMECANCELLED": "downtime",
}


@dataclass(frozen=True, slots=True)
class Routing:
    contacts: tuple[str, ...]  # sorted, passed every filter
    contact_groups: tuple[str, ...]
    escalated: bool
    interval: float  # reminder interval that applies (smallest of the valid escalations)
    retry_at: float | None  # when a contact blocked only by its period can next be reached


@dataclass(frozen=True, slots=True)
class Request:
    type: str
    state: int
    is_host: bool
    number: int  # the number escalations are matched against
    since_hard: float  # seconds since the last hard state change
    notified_on: frozenset[int]
    now: float


def option_for(req: Request) -> str | None:
    """The notify_on option a notification needs; None: no option needed."""
    if req.type == "PROBLEM":
        return state_name(req.state, req.is_host).lower()
    if req.type == "RECOVERY":
        return "recovery"
    return EDGE_OPTIONS.get(req.type)


def route(plan: Plan, policy: Policy, req: Request) -> Routing:
    valid = [e for e in policy.escalations if _escalation_valid(e, req)]
    replaced = any(e.replace for e in valid)
    groups: list[str] = [] if replaced else list(policy.contact_groups)
    names: set[str] = set() if replaced else set(policy.contacts)
    for esc in valid:
        groups.extend(g for g in esc.contact_groups if g not in groups)
    for group in groups:
        names.update(plan.contact_groups.get(group, ()))
    passed, retry_at = _filter(plan, sorted(names), req)
    intervals = [e.notification_interval for e in valid if e.notification_interval is not None]
    interval = min(intervals) if intervals else policy.notification_interval
    return Routing(tuple(passed), tuple(groups), bool(valid), interval, retry_at)


def _escalation_valid(esc: Escalation, req: Request) -> bool:
    # `after` set: a time-based escalation, the number range does not apply
    if esc.after is not None:
        return req.since_hard >= esc.after
    return esc.first <= req.number and (esc.last == 0 or req.number <= esc.last)


def _filter(plan: Plan, names: Iterable[str], req: Request) -> tuple[list[str], float | None]:
    passed: list[str] = []
    retry: list[float] = []
    for name in names:
        # an unknown contact name is kept: losing a notification is worse (config validates)
        contact = plan.contacts.get(name, Contact(name))
        if not _wants(contact, req):
            continue
        period = plan.timeperiods.get(contact.notification_period or "")
        if period is not None and not period.contains(req.now):
            nxt = period.next_inside(req.now)
            if nxt is not None:
                retry.append(nxt)
            continue
        passed.append(name)
    return passed, (min(retry) if retry else None)


def _wants(contact: Contact, req: Request) -> bool:
    if contact.types and req.type not in contact.types:
        return False
    if not contact.notify_on:
        return True
    option = option_for(req)
    if option is None:
        return True
    if option not in contact.notify_on:
        return False
    if req.type == "RECOVERY":
        # only a contact who would have received one of the notified problem states
        notified = {state_name(s, req.is_host).lower() for s in req.notified_on}
        return bool(notified & contact.notify_on)
    return True
