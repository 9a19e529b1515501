"""Which checks to run at once around a failing or recovering host (docs/semantics.md §5).

- Before a failing active result is judged, its parents (a host's `parents`, a service's
  host) are asked now when their state may be stale, so DOWN vs UNREACHABLE and "host
  problem" are decided from current answers (Nagios's on-demand checks).
- When a host comes back UP, what was judged while it was down is asked again now: its
  services in a problem and the hosts behind it that are not UP, so stale "no answer"
  states clear within seconds instead of at their next interval.

Pure functions over the plan and the engine's states; the server runs the checks.
"""

from __future__ import annotations

from collections.abc import Mapping

from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey, CheckResult, CheckState, StateType
from augenmass.server.deadman import SOURCE as DEAD_MAN

WAIT_MARGIN = 1.0  # beyond the parent's check timeout: its start and the handling of its answer
HOST_WARNING = 1  # an active host check's WARNING is UP (the engine's rule)


def parents_to_ask(
    plan: Plan, states: Mapping[CheckKey, CheckState], result: CheckResult
) -> list[CheckKey]:
    """The parents to check before `result` is applied (empty: judge it now)."""
    key = result.key
    if result.status == 0 or result.passive or key.host not in plan.hosts:
        return []
    if result.source == DEAD_MAN:
        return []  # a job that did not report says nothing about its host
    own = states.get(key)
    if own is None:
        return []
    if key.service is None:
        if result.status == HOST_WARNING:
            return []
        candidates = [CheckKey(p) for p in plan.hosts[key.host].parents]
    else:
        candidates = [CheckKey(key.host)]
    if own.checked and own.state_type is StateType.HARD and _unchanged(own, result.status):
        return []  # a standing problem does not ask its parents at every result
    started = result.started_at or 0.0
    return [k for k in candidates if _may_be_stale(plan, states.get(k), started)]


def _unchanged(own: CheckState, status: int) -> bool:
    if own.key.service is None:
        return own.state != 0  # a host already down stays down (DOWN or UNREACHABLE)
    return own.state == (status if 0 <= status <= 3 else 3)


def _may_be_stale(plan: Plan, state: CheckState | None, started: float) -> bool:
    if state is None or state.key.service is not None:
        return False
    host = plan.hosts.get(state.key.host)
    if host is None or host.check is None or not host.policy.active_checks:
        return False  # nothing to run: assumed UP, or passive only
    if host.agent is not None:
        return False  # its agent checks it, on the agent's schedule
    if state.checked and state.state != 0:
        return False  # known to be down: the engine already judges by it
    return not state.checked or state.last_check < started


def wait_bound(plan: Plan, keys: list[CheckKey]) -> float:
    """How long a child's verdict may wait for the answers of `keys`."""
    specs = [plan.hosts[k.host].check for k in keys if k.host in plan.hosts]
    return max((spec.timeout for spec in specs if spec is not None), default=0.0) + WAIT_MARGIN


def came_back(before: CheckState | None, after: CheckState | None) -> bool:
    """A host that was not UP and is UP now (a soft recovery too)."""
    return (
        before is not None
        and after is not None
        and after.key.service is None
        and before.checked
        and before.state != 0
        and after.state == 0
    )


def to_recheck(plan: Plan, states: Mapping[CheckKey, CheckState], host: str) -> list[CheckKey]:
    """After `host` came back: its services in a problem, the hosts behind it not UP."""
    keys = [
        s.key
        for s in plan.services_of(host)
        if (st := states.get(s.key)) is not None and st.checked and st.state != 0
    ]
    for child in plan.children_of(host):
        st = states.get(CheckKey(child))
        if st is not None and st.checked and st.state != 0:
            keys.append(st.key)
    return keys
