"""Soft/hard state logic for one result (docs/semantics.md §4, §6 and §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from augenmass.core.plan import Policy
from augenmass.core.values import CheckResult, CheckState, StateType


@dataclass(slots=True)  # not frozen: built for every result, and frozen init costs twice
class Transition:
    # The fields of the new state that this result sets; the engine adds its own and builds
    # the state once: a 27-field frozen state per step cost more than the logic itself.
    changes: dict[str, Any]
    state: int  # the new state's value and type (also in `changes` unless unchanged)
    state_type: StateType
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

    `host_problem`: a service whose host is not UP (SOFT or HARD). `force_hard`: go HARD at
    once (a service while its host is HARD down or unreachable, or a passive host result).
    """
    changes: dict[str, Any] = {
        "checked": True,
        "last_check": at,
        "output": result.output,
        "long_output": result.long_output,
        "perfdata": result.perfdata,
        "host_problem_at_last_check": host_problem,
    }
    if status == 0:
        return _ok_result(old, changes, policy, now)
    return _problem_result(old, changes, status, policy, now, host_problem, force_hard)


def _ok_result(old: CheckState, ch: dict[str, Any], policy: Policy, now: float) -> Transition:
    was_problem = old.checked and old.state != 0
    max_attempts = max(1, policy.max_check_attempts)
    hard = StateType.HARD
    if not was_problem:
        ch.update(state=0, state_type=hard, attempt=1, ok_streak=0)
        if not old.checked:
            ch.update(last_state_change=now, last_hard_state=0)
        return Transition(ch, 0, hard, not old.checked, False, False, False, hard, 1)
    if old.state_type is StateType.SOFT:
        # Soft recovery: reported SOFT with the incremented attempt (Nagios' "OK;SOFT;3"),
        # stored HARD OK attempt 1, never notifies.
        _recovered(ch, now, hard=False)
        attempt = min(old.attempt + 1, max_attempts)
        return Transition(ch, 0, hard, True, False, True, False, StateType.SOFT, attempt)
    streak = old.ok_streak + 1
    if streak < max(1, policy.recovery_attempts):
        # recovery not yet confirmed: the HARD problem stands
        ch["ok_streak"] = streak
        return Transition(
            ch, old.state, old.state_type, False, False, False, False, old.state_type, old.attempt
        )
    _recovered(ch, now, hard=True)
    return Transition(ch, 0, hard, True, True, False, True, hard, 1)


def _recovered(ch: dict[str, Any], now: float, *, hard: bool) -> None:
    ch.update(
        state=0,
        state_type=StateType.HARD,
        attempt=1,
        ok_streak=0,
        last_state_change=now,
        last_hard_state=0,
        next_notification=0.0,
        no_more_notifications=False,
    )
    if hard:
        ch["last_hard_state_change"] = now


def _problem_result(
    old: CheckState,
    ch: dict[str, Any],
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
        ch.update(state=status, ok_streak=0)
        if changed:
            _hard(ch, status, now, changed_value=True)
            if status in old.notified_on and old.state not in old.notified_on:
                # Back to a state people were told about, from one they never heard of (held
                # by a host outage, a downtime ...): the same problem, not a new mail. Keep
                # the reminder schedule of that first mail.
                _resume_reminders(ch, old, policy, now)
        kind = StateType.HARD
        return Transition(ch, status, kind, changed, changed, False, False, kind, old.attempt)
    attempt = min(old.attempt + 1, max_attempts) if was_problem else 1
    if host_problem and force_hard:
        attempt = max_attempts  # Nagios: "switch to hard down state due to host down"
    hard = force_hard or attempt >= max_attempts
    ch.update(state=status, attempt=attempt, ok_streak=0)
    value_changed = not was_problem or status != old.state
    if value_changed:
        ch["last_state_change"] = now
    if not was_problem:
        # the problem begins here, not when it is confirmed (HARD): mails say both
        ch["problem_since"] = now
    if hard:
        _hard(ch, status, now, changed_value=value_changed)
        kind = StateType.HARD
        return Transition(ch, status, kind, True, True, False, False, kind, attempt)
    ch["state_type"] = StateType.SOFT
    soft = StateType.SOFT
    return Transition(ch, status, soft, True, False, False, False, soft, attempt)


def _resume_reminders(ch: dict[str, Any], old: CheckState, policy: Policy, now: float) -> None:
    interval = policy.notification_interval
    if interval <= 0:
        ch["no_more_notifications"] = True
    else:
        ch["next_notification"] = max(now, old.last_notification + interval)


def _hard(ch: dict[str, Any], status: int, now: float, *, changed_value: bool) -> None:
    # A hard change resets the reminder timing (Nagios: last/next_notification to 0).
    ch.update(
        state_type=StateType.HARD,
        last_hard_state=status,
        last_hard_state_change=now,
        next_notification=0.0,
        no_more_notifications=False,
    )
    if changed_value:
        ch["last_state_change"] = now
