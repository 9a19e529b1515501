"""How long a new outbox row waits for company before its message may go out.

Most rows wait `group_wait`. A host's PROBLEM or RECOVERY with something behind it (its
services, hosts that have it as a parent) waits the settle window instead: those are being
checked at once (on demand, or again after the recovery), and their answers belong in the
same message — one incident, one mail (docs/semantics.md §14).
"""

from __future__ import annotations

from augenmass.core.plan import Plan

SETTLE_MARGIN = 5.0  # beyond the longest check timeout behind the host
SETTLE_MAX = 60.0  # a root-cause mail is never held longer than this by the automatic window
INCIDENT_TYPES = frozenset({"PROBLEM", "RECOVERY"})


def settle_window(plan: Plan, host: str) -> float:
    """The settle window of `host` (0: nothing sits behind it)."""
    configured = plan.notifications.settle
    services = plan.services_of(host)
    children = [plan.hosts[c] for c in plan.children_of(host)]
    if not services and not children:
        return 0.0
    if configured is not None:
        return configured
    timeouts = [s.check.timeout for s in services]
    timeouts += [c.check.timeout for c in children if c.check is not None]
    return min(SETTLE_MAX, max(timeouts, default=0.0) + SETTLE_MARGIN)


def row_wait(plan: Plan, host: str, service: str, kind: str) -> float:
    """Seconds a new row of this check and notification type waits for company."""
    wait = plan.notifications.group_wait
    if service or kind not in INCIDENT_TYPES or host not in plan.hosts:
        return wait
    return max(wait, settle_window(plan, host))
