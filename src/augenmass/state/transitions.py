"""Soft/hard state logic for one result (semantics.md §3.2, with our decisions applied)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from augenmass.model import CheckResult, CheckState, StateType
from augenmass.plan import Policy


@dataclass(frozen=True, slots=True)
class Transition:
    state: CheckState
    logged: bool  # worth a "state" event: state/type changed, a SOFT result, or the first result
    hard_change: bool
    soft_recovery: bool
    hard_recovery: bool
    event_type: StateType  # the type to report (SOFT for a soft recovery)
    event_attempt: int


def apply_result(
    old: CheckState,
    status: int,
    result: CheckResult,
    policy: Policy,
    *,
    at: float,
    now: float,
    host_problem: bool,
    force_hard: bool,
) -> Transition:
    """The new state after `status` (already mapped: service 0..3, host UP/DOWN/UNREACHABLE).

    `host_problem`: a service whose host is not UP. `force_hard`: go HARD at once (a service
    while its host is down, or a passive host result).
    """
    base = replace(
        old,
        checked=True,
        last_check=at,
        output=result.output,
        long_output=result.long_output,
        perfdata=result.perfdata,
        host_problem_at_last_check=host_problem,
    )
    if status == 0:
        return _ok_result(old, base, policy, now)
    return _problem_result(old, base, status, policy, now, host_problem, force_hard)


def _ok_result(old: CheckState, base: CheckState, policy: Policy, now: float) -> Transition:
    was_problem = old.checked and old.state != 0
    max_attempts = max(1, policy.max_check_attempts)
    if not was_problem:
        new = replace(base, state=0, state_type=StateType.HARD, attempt=1, ok_streak=0)
        if not old.checked:
            new = replace(new, last_state_change=now, last_hard_state=0)
        return Transition(new, not old.checked, False, False, False, StateType.HARD, 1)
    if old.state_type is StateType.SOFT:
        # Soft recovery: reported SOFT with the incremented attempt (Nagios' "OK;SOFT;3"),
        # stored HARD OK attempt 1, never notifies.
        new = _recovered(base, now, hard=False)
        attempt = min(old.attempt + 1, max_attempts)
        return Transition(new, True, False, True, False, StateType.SOFT, attempt)
    streak = old.ok_streak + 1
    if streak < max(1, policy.recovery_attempts):
        # recovery not yet confirmed: the HARD problem stands
        new = replace(base, ok_streak=streak)
        return Transition(new, False, False, False, False, old.state_type, old.attempt)
    new = _recovered(base, now, hard=True)
    return Transition(new, True, True, False, True, StateType.HARD, 1)


def _recovered(base: CheckState, now: float, *, hard: bool) -> CheckState:
    new = replace(
        base,
        state=0,
        state_type=StateType.HARD,
        attempt=1,
        ok_streak=0,
        last_state_change=now,
        last_hard_state=0,
        next_notification=0.0,
        no_more_notifications=False,
    )
    return replace(new, last_hard_state_change=now) if hard else new


def _problem_result(
    old: CheckState,
    base: CheckState,
    status: int,
    policy: Policy,
    now: float,
    host_problem: bool,
    force_hard: bool,
) -> Transition:
    max_attempts = max(1, policy.max_check_attempts)
    was_problem = old.checked and old.state != 0
    if was_problem and old.state_type is StateType.HARD:
        changed = status != old.state
        new = replace(base, state=status, ok_streak=0)
        if changed:
            new = _hard(new, status, now, changed_value=True)
        return Transition(new, changed, changed, False, False, StateType.HARD, new.attempt)
    attempt = min(old.attempt + 1, max_attempts) if was_problem else 1
    if host_problem and force_hard:
        attempt = max_attempts  # Nagios: "switch to hard down state due to host down"
    hard = force_hard or attempt >= max_attempts
    new = replace(base, state=status, attempt=attempt, ok_streak=0)
    value_changed = not was_problem or status != old.state
    if value_changed:
        new = replace(new, last_state_change=now)
    if hard:
        new = _hard(new, status, now, changed_value=value_changed)
        return Transition(new, True, True, False, False, StateType.HARD, attempt)
    new = replace(new, state_type=StateType.SOFT)
    return Transition(new, True, False, False, False, StateType.SOFT, attempt)


def _hard(state: CheckState, status: int, now: float, *, changed_value: bool) -> CheckState:
    # A hard change resets the reminder timing (Nagios: last/next_notification to 0).
    new = replace(
        state,
        state_type=StateType.HARD,
        last_hard_state=status,
        last_hard_state_change=now,
        next_notification=0.0,
        no_more_notifications=False,
    )
    return replace(new, last_state_change=now) if changed_value else new
