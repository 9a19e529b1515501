"""When PROBLEM/RECOVERY notifications go out, and edge notifications (docs/semantics.md §11, §13).

PROBLEM and RECOVERY are level-triggered: they are due whenever the stored state says so
(a HARD problem past next_notification; a HARD OK with notified problem states). A blocked one
is therefore "held" with no stash and goes out at the first call (result or tick) where
nothing blocks it any more: downtime ended, period opened, ack expired, flapping stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from augenmass.core.plan import Plan, Policy
from augenmass.core.values import CheckKey, CheckState, Downtime, Event, StateType
from augenmass.state import downtimes as dts
from augenmass.state.outcome import OutcomeBuilder
from augenmass.state.routing import Request, Routing, option_for, route

# Blocks that go away by themselves (the notification waits) vs. ones that do not.
HOLDING = frozenset(
    {"soft", "host_down", "unreachable", "downtime", "acknowledged", "flapping", "delay", "period"}
)
UNREACHABLE = 2  # a host's state behind parents that are all down


@dataclass
class Notifier:
    plan: Plan
    states: dict[CheckKey, CheckState]
    downtimes: Mapping[str, Downtime]
    out: OutcomeBuilder

    # --- shared helpers ----------------------------------------------------------------

    def put(self, state: CheckState) -> None:
        self.states[state.key] = state
        self.out.states[state.key] = state

    def emit(self, state: CheckState, kind: str, now: float, data: Mapping[str, Any]) -> None:
        self.out.events.append(
            Event(
                now,
                kind,
                state.key,
                state.state,
                state.state_type,
                state.attempt,
                state.output,
                dict(data),
            )
        )

    def in_downtime(self, key: CheckKey) -> bool:
        keys = {key, CheckKey(key.host)}
        return any(dt.key in keys and dts.is_active(dt) for dt in self.downtimes.values())

    def host_not_up(self, key: CheckKey) -> bool:
        if key.service is None:
            return False
        host = self.states.get(CheckKey(key.host))
        return host is not None and host.checked and host.state != 0

    def period_open(self, policy: Policy, now: float) -> bool:
        period = self.plan.timeperiods.get(policy.notification_period or "")
        return period is None or period.contains(now)

    def period_opens(self, policy: Policy, now: float) -> float | None:
        period = self.plan.timeperiods.get(policy.notification_period or "")
        return None if period is None else period.next_inside(now)

    # --- PROBLEM / RECOVERY ------------------------------------------------------------

    def pending(self, state: CheckState, now: float) -> str | None:
        """ "PROBLEM" or "RECOVERY" if one is due now (blocks aside), else None."""
        if not state.checked or state.state_type is not StateType.HARD:
            return "PROBLEM" if state.checked and state.state != 0 else None
        if state.state == 0:
            return "RECOVERY" if state.notified_on else None
        if state.no_more_notifications:
            return None
        # volatile objects get next_notification reset by every HARD problem result
        return "PROBLEM" if now >= state.next_notification else None

    def block(self, state: CheckState, kind: str, now: float) -> str | None:
        """Why the due `kind` notification cannot go out now; None when it can."""
        policy = self.plan.policy(state.key)
        if not policy.notifications_enabled:
            return "disabled"
        if kind == "PROBLEM" and state.state_type is StateType.SOFT:
            return "soft"
        if kind == "PROBLEM" and (self.host_not_up(state.key) or state.host_problem_at_last_check):
            return "host_down"
        if kind == "PROBLEM" and state.key.is_host and state.state == UNREACHABLE:
            # Icinga 2's dependency default: the parent that is down is the news, its mail
            # names what sits behind it; one incident, one mail (docs/semantics.md §8).
            return "unreachable"
        if self.in_downtime(state.key):
            return "downtime"
        if kind == "PROBLEM" and state.acknowledgement is not None:
            return "acknowledged"
        if state.is_flapping:
            return "flapping"
        option = option_for(self._request(state, kind, now))
        if option is not None and option not in policy.notify_on:
            return "filtered"
        delay_end = state.last_hard_state_change + policy.first_notification_delay
        if kind == "PROBLEM" and state.notification_number == 0 and now < delay_end:
            return "delay"
        if not self.period_open(policy, now):
            return "period"
        return None

    def evaluate(self, key: CheckKey, now: float, *, report: bool) -> None:
        """Send the due PROBLEM/RECOVERY of `key` if nothing blocks it.

        report=True (a result or command for this object): say why it was suppressed.
        """
        self.release_held(key, now)
        state = self.states[key]
        kind = self.pending(state, now)
        if kind is None:
            return
        reason = self.block(state, kind, now)
        if reason is None:
            self._send(state, kind, now)
            return
        if reason not in HOLDING and kind == "RECOVERY":
            self.put(replace(state, notified_on=frozenset(), notification_number=0))
        if report:
            self.emit(state, "notification_suppressed", now, {"type": kind, "reason": reason})

    def _request(self, state: CheckState, kind: str, now: float) -> Request:
        number = state.notification_number + (1 if kind == "PROBLEM" else 0)
        return Request(
            kind,
            state.state,
            state.key.is_host,
            number,
            now - state.last_hard_state_change,
            state.notified_on,
            now,
        )

    def _send(self, state: CheckState, kind: str, now: float) -> None:
        routing = route(self.plan, self.plan.policy(state.key), self._request(state, kind, now))
        if kind == "RECOVERY":
            # the RECOVERY's own number follows the last problem's (Nagios numbering)
            new = replace(
                state,
                notified_on=frozenset(),
                notification_number=0,
                last_notification=now if routing.contacts else state.last_notification,
            )
            self.put(new)
            if routing.contacts:
                self._notify(new, kind, state.notification_number + 1, routing, now, {})
            else:
                self.emit(
                    new, "notification_suppressed", now, {"type": kind, "reason": "no_recipients"}
                )
            return
        if not routing.contacts:
            self._nobody(state, routing, now)
            return
        number = state.notification_number + 1
        new = replace(
            state,
            notification_number=number,
            notified_on=state.notified_on | {state.state},
            last_notification=now,
            next_notification=now + routing.interval,
            no_more_notifications=routing.interval <= 0,
        )
        self.put(new)
        self._notify(new, kind, number, routing, now, {})

    def _nobody(self, state: CheckState, routing: Routing, now: float) -> None:
        # Nobody passed: the number does not increment. Retry when a contact's period opens,
        # else wait for the next reminder time so ticks do not retry endlessly.
        if routing.retry_at is not None:
            new = replace(state, next_notification=routing.retry_at)
        elif routing.interval > 0:
            new = replace(state, next_notification=now + routing.interval)
        else:
            new = replace(state, no_more_notifications=True)
        self.put(new)
        self.emit(
            state, "notification_suppressed", now, {"type": "PROBLEM", "reason": "no_recipients"}
        )

    def _notify(
        self,
        state: CheckState,
        kind: str,
        number: int,
        routing: Routing,
        now: float,
        extra: Mapping[str, Any],
    ) -> None:
        data = {
            "type": kind,
            "number": number,
            "contacts": list(routing.contacts),
            "contact_groups": list(routing.contact_groups),
            "escalated": routing.escalated,
            **problem_times(state, kind),
            **extra,
        }
        self.emit(state, "notification", now, data)

    # --- edge notifications: ACKNOWLEDGEMENT, FLAPPING*, DOWNTIME*, CUSTOM ----------------

    def edge(self, key: CheckKey, kind: str, now: float, extra: Mapping[str, Any]) -> None:
        """Send a one-off notification now, hold it for the notification period, or record
        why not."""
        state = self.states[key]
        policy = self.plan.policy(key)
        reason: str | None = None
        option = option_for(self._request(state, kind, now))
        if not policy.notifications_enabled:
            reason = "disabled"
        elif option is not None and option not in policy.notify_on:
            reason = "filtered"
        elif kind.startswith("FLAPPING") and self.in_downtime(key):
            reason = "downtime"
        elif not self.period_open(policy, now):
            reason = "period"
            self.put(replace(state, held_notifications=_hold(state.held_notifications, kind)))
        if reason is None:
            req = self._request(state, kind, now)
            routing = route(self.plan, policy, req)
            if routing.contacts:
                self._notify(state, kind, state.notification_number, routing, now, extra)
                return
            reason = "no_recipients"
        self.emit(state, "notification_suppressed", now, {"type": kind, "reason": reason})

    def release_held(self, key: CheckKey, now: float) -> None:
        """Send the edge notifications held while the notification period was closed."""
        state = self.states[key]
        if not state.held_notifications or not self.period_open(self.plan.policy(key), now):
            return
        self.put(replace(state, held_notifications=()))
        for kind in state.held_notifications:
            if kind == "ACKNOWLEDGEMENT" and self.states[key].acknowledgement is None:
                continue  # the ack is gone; telling about it now would mislead
            self.edge(key, kind, now, _held_extra(self.states[key], kind))


def problem_times(state: CheckState, kind: str) -> dict[str, float]:
    """`began`: when the problem began (its first non-OK result, before the SOFT attempts);
    `confirmed`: when its current state became HARD. A notification goes out at neither time
    (reminders, delays, held ones), and people ask "since when?" (docs/semantics.md §11)."""
    if not state.checked:
        return {}
    if state.state != 0:
        # a state stored before problem_since existed: its last change is the best guess
        times = {"began": state.problem_since or state.last_state_change}
        if state.state_type is StateType.HARD:
            times["confirmed"] = state.last_hard_state_change
        return times
    if kind == "RECOVERY" and state.problem_since:
        return {"began": state.problem_since}  # the problem that just ended
    return {}


# A held *END/*STOP cancels its held *START: the episode happened entirely outside the period.
_PAIRS = {
    "FLAPPINGSTOP": "FLAPPINGSTART",
    "DOWNTIMEEND": "DOWNTIMESTART",
    "DOWNTIMECANCELLED": "DOWNTIMESTART",
}


def _hold(held: tuple[str, ...], kind: str) -> tuple[str, ...]:
    opener = _PAIRS.get(kind)
    if opener is not None and opener in held:
        return tuple(k for k in held if k != opener)
    return held if kind in held else (*held, kind)


def _held_extra(state: CheckState, kind: str) -> dict[str, Any]:
    ack = state.acknowledgement
    if kind == "ACKNOWLEDGEMENT" and ack is not None:
        return {"author": ack.author, "comment": ack.comment, "held": True}
    return {"held": True}
