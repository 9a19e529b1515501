"""The state engine: results and commands in, states and events out. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Mapping
from dataclasses import fields, replace
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from augenmass.core.plan import Plan
from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    Downtime,
    StateType,
    state_name,
)
from augenmass.state import acks, flapping
from augenmass.state import downtimes as dts
from augenmass.state.notifications import Notifier
from augenmass.state.outcome import Outcome, OutcomeBuilder
from augenmass.state.transitions import Transition, apply_result

ASSUMED_UP = "(Host assumed to be UP)"
# keys per step of a sliced reload: a few ms of work each
RELOAD_CHUNK = 2500


def plan_keys(plan: Plan) -> list[CheckKey]:
    return [h.key for h in plan.hosts.values()] + list(plan.services)


class Engine:
    """Holds the current state of every host and service of a Plan, and the downtimes.

    Every public call returns an Outcome with the changed states and the events; time is
    always passed in as float epoch seconds.
    """

    def __init__(
        self,
        plan: Plan,
        states: Mapping[CheckKey, CheckState] | None = None,
        downtimes: Iterable[Downtime] = (),
    ) -> None:
        self._plan = plan
        given = states or {}
        keys = plan_keys(plan)
        kept = {k: _keyed(st, k) for k in keys if (st := given.get(k)) is not None}
        self._states = {k: self._carried(k, kept.get(k)) for k in keys}
        # states the plan alone changed (a host whose check was removed while stopped)
        self._changed_at_start = {
            k: st for k, st in self._states.items() if k in kept and kept[k] is not st
        }
        self._host_keys = _host_keys(plan)
        self._downtimes = {dt.id: dt for dt in downtimes if dt.key in self._states}

    # --- queries -----------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        return self._plan

    @property
    def states(self) -> Mapping[CheckKey, CheckState]:
        """A read-only live view (copy it to keep a snapshot)."""
        return MappingProxyType(self._states)

    @property
    def downtimes(self) -> Mapping[str, Downtime]:
        """A read-only live view (copy it to keep a snapshot)."""
        return MappingProxyType(self._downtimes)

    def state(self, key: CheckKey) -> CheckState:
        """The state of a key in the plan (KeyError for any other key)."""
        return self._states[key]

    def next_check_interval(self, key: CheckKey) -> float:
        policy = self._plan.policy(key)
        state = self._states[key]
        if state.checked and state.state != 0 and state.state_type is StateType.SOFT:
            return policy.retry_interval
        return policy.check_interval

    def next_due(self, now: float) -> float | None:
        """The next time after `now` at which tick() may have something to do."""
        times = [t for dt in self._downtimes.values() if (t := dts.next_time(dt, now))]
        for state in self._states.values():
            ack = state.acknowledgement
            if ack is not None and ack.expires_at is not None and ack.expires_at > now:
                times.append(ack.expires_at)
            times.extend(self._notification_times(state, now))
        later = [t for t in times if t > now]
        return min(later) if later else None

    def _notification_times(self, state: CheckState, now: float) -> list[float]:
        policy = self._plan.policy(state.key)
        times: list[float] = []
        waiting = bool(state.held_notifications)
        if state.checked and state.state_type is StateType.HARD:
            if state.state != 0 and not state.no_more_notifications:
                times.append(state.next_notification)
                if state.notification_number == 0:
                    times.append(state.last_hard_state_change + policy.first_notification_delay)
                waiting = True
            elif state.state == 0 and state.notified_on:
                waiting = True
        period = self._plan.timeperiods.get(policy.notification_period or "")
        if waiting and period is not None and not period.contains(now):
            opens = period.next_inside(now)
            if opens is not None:
                times.append(opens)
        return times

    # --- config reload -----------------------------------------------------------------

    def reload(self, plan: Plan) -> Outcome:
        """Keep states of keys still present, add new ones PENDING, drop the rest.

        The Outcome holds the states that changed by the new config alone (a host whose check
        was removed is assumed UP again) and the downtimes of objects that are gone."""
        steps = self.reload_steps(plan)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def reload_steps(self, plan: Plan, chunk: int = RELOAD_CHUNK) -> Generator[None, None, Outcome]:
        """`reload` in steps of `chunk` keys, yielding between them, so that a server can let
        its event loop run in between (30,000 keys at once held it up for 60-90 ms). The new
        states are built aside and take effect at the last step, all at once; the caller keeps
        every other call of this engine out until then (the states are read meanwhile)."""
        old = self._states
        keys = plan_keys(plan)
        states: dict[CheckKey, CheckState] = {}
        out = OutcomeBuilder()
        changed = out.states
        carried = self._carried
        for start in range(0, len(keys), chunk):
            for key in keys[start : start + chunk]:
                kept = old.get(key)
                if kept is not None:
                    kept = _keyed(kept, key)
                st = states[key] = carried(key, kept, plan)
                if kept is not None and kept is not st:
                    changed[key] = st
            yield
        host_keys = _host_keys(plan)
        yield
        self._plan = plan
        self._states = states
        self._host_keys = host_keys
        for dt_id, dt in list(self._downtimes.items()):
            if dt.key not in self._states:
                del self._downtimes[dt_id]
                out.remove_downtime(dt_id)
        return out.build()

    def changed_at_start(self) -> Outcome:
        """The states given to the constructor that the plan changed, to be stored (once)."""
        out = OutcomeBuilder()
        out.states.update(self._changed_at_start)
        self._changed_at_start = {}
        return out.build()

    def _carried(
        self, key: CheckKey, kept: CheckState | None, plan: Plan | None = None
    ) -> CheckState:
        """The state a key starts `plan` (default: the engine's) with: its kept one, unless it
        is a host without a check now (its last DOWN came from a check that no longer exists,
        and nothing could ever change it again: passive results for a check-less host are
        refused)."""
        plan = self._plan if plan is None else plan
        if kept is None:
            return _initial(key, plan)
        if key.service is None and kept.output != ASSUMED_UP:
            host = plan.hosts[key.host]
            # an agent's own host and the hosts behind it get their states from the agent's link
            if host.check is None and host.agent is None and key.host not in plan.agents:
                return _initial(key, plan)
        return kept

    # --- results -----------------------------------------------------------------------

    def ingest(self, result: CheckResult, now: float) -> Outcome:
        """Apply one check result (active or passive)."""
        key = result.key
        old = self._states.get(key)
        if old is None:
            return Outcome(reason=f"{key} is not in the configuration")
        if old.checked and result.started_at and result.started_at < old.last_check:
            return Outcome(reason="out_of_order: a newer result is already applied")
        out = OutcomeBuilder()
        n = self._notifier(out)
        policy = self._plan.policy(key)
        status, host_problem, host_hard = self._map_status(key, result.status, result.passive)
        # Only a HARD host problem skips the service's retries: a host blip (SOFT DOWN) must
        # not use them up, or the service pages early once the host is back (nagioscore #759).
        force = (host_hard and status != 0) or (key.service is None and result.passive)
        # a start time from the future (clock skew) is clamped, so it cannot block later results
        at = min(result.started_at, now) if result.started_at else now
        tr = apply_result(
            old,
            status,
            result,
            policy,
            at=at,
            now=now,
            host_problem=host_problem,
            force_hard=force,
        )
        changes = tr.changes
        if policy.volatile and tr.state_type is StateType.HARD and tr.state != 0:
            changes.update(next_notification=0.0, no_more_notifications=False)
        if tr.hard_recovery and not old.notified_on:
            changes["notification_number"] = 0
        ack_removed = acks.removed_by_result(old, tr.state)
        if ack_removed:
            changes["acknowledgement"] = None
        flap: str | None = None
        if key.service is None or tr.state_type is StateType.HARD:
            flap_changes, flap = flapping.record(old, tr.state, policy)
            changes.update(flap_changes)
        # One new state for all of the above: none of them reads a field another one sets.
        new = _evolve(old, changes)
        n.put(new)
        self._result_events(n, old, tr, now, ack_removed, flap)
        self._downtime_changes(n, now, only=key)
        n.evaluate(key, now, report=tr.logged or policy.volatile)
        self._recovery_notes(n, tr, new, now)
        return out.build()

    def _map_status(self, key: CheckKey, raw: int, passive: bool) -> tuple[int, bool, bool]:
        """Host: 0 or 1 → UP, else DOWN or UNREACHABLE (all parents not UP). Service: 0..3,
        else UNKNOWN; the flags say whether the service's host is not UP, and whether HARD so.

        An active host check's WARNING is UP, as in Nagios 4: a ping with some loss or a slow
        answer reached the host, and a host DOWN would silence every service on it. A passive
        host result speaks in host states (0 UP, 1 DOWN, 2 UNREACHABLE), as Nagios reads it."""
        if key.service is None:
            if raw == 0 or (raw == 1 and not passive):
                return 0, False, False
            return (2 if self._parents_down(key.host) else 1), False, False
        status = raw if 0 <= raw <= 3 else 3
        host = self._states.get(self._host_keys[key.host])
        if host is None or not host.checked or host.state == 0:
            return status, False, False
        return status, True, host.state_type is StateType.HARD

    def _parents_down(self, host: str) -> bool:
        parents = [CheckKey(p) for p in self._plan.hosts[host].parents]
        known = [self._states[p] for p in parents if p in self._states]
        return bool(known) and all(p.checked and p.state != 0 for p in known)

    def _result_events(
        self,
        n: Notifier,
        old: CheckState,
        tr: Transition,
        now: float,
        ack_removed: bool,
        flap: str | None,
    ) -> None:
        new = n.states[old.key]
        if tr.logged:
            is_host = old.key.is_host
            data = {
                "old_state": state_name(old.state, is_host) if old.checked else "PENDING",
                "old_state_type": old.state_type.value,
                "hard_change": tr.hard_change,
                "soft_recovery": tr.soft_recovery,
            }
            shown = replace(new, state_type=tr.event_type, attempt=tr.event_attempt)
            n.emit(shown, "state", now, data)
        if ack_removed:
            n.emit(new, "acknowledgement_removed", now, {"reason": "state_change"})
        if flap is not None:
            kind = "flapping_start" if flap == "start" else "flapping_stop"
            n.emit(new, kind, now, {"percent_state_change": new.percent_state_change})
            n.edge(new.key, "FLAPPINGSTART" if flap == "start" else "FLAPPINGSTOP", now, {})

    def _recovery_notes(self, n: Notifier, tr: Transition, new: CheckState, now: float) -> None:
        if tr.soft_recovery:
            n.emit(new, "notification_suppressed", now, {"type": "RECOVERY", "reason": "soft"})
        elif tr.hard_recovery and not new.notified_on:
            n.emit(
                new, "notification_suppressed", now, {"type": "RECOVERY", "reason": "not_notified"}
            )

    # --- time --------------------------------------------------------------------------

    def tick(self, now: float) -> Outcome:
        """Time-driven work: downtimes start/end, acks expire, held or due notifications."""
        out = OutcomeBuilder()
        n = self._notifier(out)
        self._downtime_changes(n, now, only=None)
        # Only objects with a problem, an ack or something held can have time-driven work;
        # skipping the rest keeps a tick cheap with thousands of quiet services.
        busy = [
            st
            for st in self._states.values()
            if st.acknowledgement is not None
            or st.held_notifications
            or st.notified_on
            or (st.checked and st.state != 0)
        ]
        for state in busy:
            if acks.expired(state, now):
                new = replace(state, acknowledgement=None)
                n.put(new)
                n.emit(new, "acknowledgement_removed", now, {"reason": "expired"})
        for state in busy:
            n.evaluate(state.key, now, report=False)
        return out.build()

    # --- acknowledgements --------------------------------------------------------------

    def acknowledge(self, key: CheckKey, ack: Acknowledgement, now: float) -> Outcome:
        state = self._states.get(key)
        if state is None:
            return Outcome(reason=f"{key} is not in the configuration")
        if not state.checked or state.state == 0:
            return Outcome(reason=f"{key} has no problem to acknowledge")
        out = OutcomeBuilder()
        n = self._notifier(out)
        new = replace(state, acknowledgement=ack)
        n.put(new)
        n.emit(new, "acknowledgement", now, acks.ack_data(new))
        if ack.notify:
            n.edge(key, "ACKNOWLEDGEMENT", now, {"author": ack.author, "comment": ack.comment})
        return out.build()

    def remove_acknowledgement(self, key: CheckKey, now: float) -> Outcome:
        state = self._states.get(key)
        if state is None:
            return Outcome(reason=f"{key} is not in the configuration")
        if state.acknowledgement is None:
            return Outcome(reason=f"{key} is not acknowledged")
        out = OutcomeBuilder()
        n = self._notifier(out)
        new = replace(state, acknowledgement=None)
        n.put(new)
        n.emit(new, "acknowledgement_removed", now, {"reason": "removed"})
        n.evaluate(key, now, report=True)  # reminders resume
        return out.build()

    # --- downtimes ---------------------------------------------------------------------

    def schedule_downtime(self, dt: Downtime, now: float) -> Outcome:
        """Add a downtime (ValueError for a malformed one); it starts at once if due."""
        if dt.key not in self._states:
            return Outcome(reason=f"{dt.key} is not in the configuration")
        problem = dts.problem(dt)
        if problem is None and dt.id in self._downtimes:
            problem = f"a downtime with id {dt.id!r} already exists"
        if problem is None and dts.ends_at(dt) <= now:
            problem = "the downtime has already ended"
        if problem is not None:
            raise ValueError(problem)
        out = OutcomeBuilder()
        n = self._notifier(out)
        for one in self._expand(dt):
            self._downtimes[one.id] = one
            out.set_downtime(one)
            n.emit(n.states[one.key], "downtime_scheduled", now, _dt_data(one))
        self._downtime_changes(n, now, only=None)
        return out.build()

    def _expand(self, dt: Downtime) -> list[Downtime]:
        if dt.key.service is not None or not dt.all_services:
            return [dt]
        extra = [
            replace(dt, id=f"{dt.id}/{svc.name}", key=svc.key, all_services=False)
            for svc in self._plan.services_of(dt.key.host)
            if f"{dt.id}/{svc.name}" not in self._downtimes
        ]
        return [dt, *extra]

    def remove_downtime(self, dt_id: str, now: float) -> Outcome:
        dt = self._downtimes.get(dt_id)
        if dt is None:
            return Outcome(reason=f"no downtime with id {dt_id!r}")
        out = OutcomeBuilder()
        n = self._notifier(out)
        self._end_downtime(n, dt, now, cancelled=True)
        n.evaluate(dt.key, now, report=False)
        return out.build()

    def _downtime_changes(self, n: Notifier, now: float, only: CheckKey | None) -> None:
        if not self._downtimes:
            return
        found: Iterable[Downtime] = self._downtimes.values()
        if only is not None:
            # after a result: only that object's downtimes can start (none ends here)
            found = [dt for dt in found if dt.key == only]
        todo = sorted(found, key=lambda d: (d.start, d.id))
        for dt in todo:
            state = n.states[dt.key]
            in_problem = state.checked and state.state != 0
            if dts.should_start(dt, now, in_problem):
                self._start_downtime(n, dt, now)
        for dt in todo:
            if only is None and dt.id in self._downtimes:
                current = self._downtimes[dt.id]
                if dts.ends_at(current) <= now:
                    self._end_downtime(n, current, now, cancelled=False)

    def _start_downtime(self, n: Notifier, dt: Downtime, now: float) -> None:
        started = replace(dt, started_at=now)
        self._downtimes[dt.id] = started
        n.out.set_downtime(started)
        state = n.states[dt.key]
        depth = dts.depth(self._downtimes.values(), dt.key)
        new = replace(state, downtime_depth=depth)
        n.put(new)
        n.emit(new, "downtime_start", now, _dt_data(started))
        if depth == 1:
            n.edge(dt.key, "DOWNTIMESTART", now, {"author": dt.author, "comment": dt.comment})

    def _end_downtime(self, n: Notifier, dt: Downtime, now: float, *, cancelled: bool) -> None:
        del self._downtimes[dt.id]
        n.out.remove_downtime(dt.id)
        state = n.states[dt.key]
        data = _dt_data(dt)
        if not dts.is_active(dt):
            n.emit(state, "downtime_cancelled" if cancelled else "downtime_end", now, data)
            return
        depth = dts.depth(self._downtimes.values(), dt.key)
        new = replace(state, downtime_depth=depth)
        n.put(new)
        n.emit(new, "downtime_cancelled" if cancelled else "downtime_end", now, data)
        if depth == 0:
            kind = "DOWNTIMECANCELLED" if cancelled else "DOWNTIMEEND"
            n.edge(dt.key, kind, now, {"author": dt.author, "comment": dt.comment})

    def _notifier(self, out: OutcomeBuilder) -> Notifier:
        return Notifier(self._plan, self._states, self._downtimes, out)


def _initial(key: CheckKey, plan: Plan) -> CheckState:
    if key.service is None and plan.hosts[key.host].check is None:
        return CheckState(key, checked=True, output=ASSUMED_UP)
    return CheckState(key)


def _keyed(state: CheckState, key: CheckKey) -> CheckState:
    """The state with the plan's own key object: a state read back from the store, or kept
    over a reload, brings an equal key of its own (and the host and service names in it),
    which it would hold for the whole run next to the plan's."""
    if state.key is key:
        return state
    return _evolve(state, {"key": key})


def _host_keys(plan: Plan) -> dict[str, CheckKey]:
    # built once per plan: a CheckKey per result for the host lookup showed in profiles
    return {name: CheckKey(name) for name in plan.hosts}


_STATE_FIELDS = tuple(f.name for f in fields(CheckState))
_STATE_INDEX = {name: i for i, name in enumerate(_STATE_FIELDS)}
_state_values = attrgetter(*_STATE_FIELDS)


def _evolve(state: CheckState, changes: Mapping[str, Any]) -> CheckState:
    """dataclasses.replace(state, **changes) for the result path, at 60 % of its cost: no
    per-call walk over the field definitions, and a positional call."""
    values = list(_state_values(state))
    for name, value in changes.items():
        values[_STATE_INDEX[name]] = value
    return CheckState(*values)


def _dt_data(dt: Downtime) -> dict[str, Any]:
    return {
        "downtime_id": dt.id,
        "fixed": dt.fixed,
        "start": dt.start,
        "end": dt.end,
        "duration": dt.duration,
        "started": dt.started_at is not None,
        "author": dt.author,
        "comment": dt.comment,
    }
