"""Soft/hard details beyond the scenarios of docs/semantics.md §16: attempts, recovery_attempts,
parents, ordering, reload."""

from __future__ import annotations

import pytest
from state_helpers import HTTPS, WWW, Run, build_plan, host_policy, minutes, policy

from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    PerfDatum,
    StateType,
    from_jsonable,
    to_jsonable,
)
from augenmass.state import Engine

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3
HARD, SOFT = StateType.HARD, StateType.SOFT


def test_unchecked_key_is_pending_and_a_host_without_check_is_up() -> None:
    eng = Engine(build_plan(host_check=False))
    assert eng.state(HTTPS).checked is False
    host = eng.state(WWW)
    assert (host.checked, host.state, host.output) == (True, 0, "(Host assumed to be UP)")


def test_max_check_attempts_1_is_hard_at_once() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    run.result(HTTPS, WARN, 0)
    assert run.state() == (WARN, HARD, 1)
    assert run.note_types() == ["PROBLEM"]


def test_first_result_from_pending_is_logged_with_old_state_pending() -> None:
    run = Run(build_plan())
    out = run.result(HTTPS, OK, 0)
    assert [e.data["old_state"] for e in out.events] == ["PENDING"]


def test_attempt_stays_at_max_while_hard() -> None:
    run = Run(build_plan())
    run.results(HTTPS, [CRIT] * 6)
    assert run.state() == (CRIT, HARD, 3)


def test_retry_interval_only_while_soft() -> None:
    run = Run(build_plan(svc=policy(check_interval=300, retry_interval=30)))
    run.result(HTTPS, CRIT, 0)
    assert run.engine.next_check_interval(HTTPS) == 30
    run.results(HTTPS, [CRIT, CRIT], start=1)
    assert run.engine.next_check_interval(HTTPS) == 300


def test_recovery_attempts_2_needs_two_ok_results() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, recovery_attempts=2)))
    run.result(HTTPS, CRIT, 0)
    run.result(HTTPS, OK, 1)
    assert run.state() == (CRIT, HARD, 1)
    assert run.engine.state(HTTPS).output == "status 0"
    run.result(HTTPS, CRIT, 2)  # breaks the streak
    run.result(HTTPS, OK, 3)
    assert run.state() == (CRIT, HARD, 1)
    run.result(HTTPS, OK, 4)
    assert run.state() == (OK, HARD, 1)
    assert run.note_types() == ["PROBLEM", "RECOVERY"]


def test_recovery_attempts_do_not_delay_a_soft_recovery() -> None:
    run = Run(build_plan(svc=policy(recovery_attempts=3)))
    run.results(HTTPS, [CRIT, OK])
    assert run.state() == (OK, HARD, 1)


def test_parent_chain_makes_grandchild_unreachable() -> None:
    plan = build_plan(
        hosts={"core": (), "edge": ("core",), "www": ("edge",)},
        host=host_policy(max_check_attempts=1),
    )
    run = Run(plan)
    run.result(CheckKey("core"), CRIT, 0)
    run.result(CheckKey("edge"), CRIT, 1)
    run.result(WWW, CRIT, 2)
    assert run.engine.state(CheckKey("core")).state == 1  # DOWN
    assert run.engine.state(CheckKey("edge")).state == 2  # UNREACHABLE
    assert run.engine.state(WWW).state == 2


def test_host_is_down_when_one_of_two_parents_is_up() -> None:
    plan = build_plan(
        hosts={"a": (), "b": (), "www": ("a", "b")}, host=host_policy(max_check_attempts=1)
    )
    run = Run(plan)
    run.result(CheckKey("a"), CRIT, 0)
    run.result(CheckKey("b"), OK, 0)
    run.result(WWW, CRIT, 1)
    assert run.engine.state(WWW).state == 1


def test_host_check_warning_is_up_and_passive_1_is_down() -> None:
    # Nagios 4: an active host check's WARNING (a slow or lossy ping) is UP; a passive host
    # result speaks in host states, so its 1 is DOWN.
    run = Run(build_plan(host=host_policy(max_check_attempts=1)))
    run.result(WWW, WARN, 0)
    assert run.engine.state(WWW).state == 0
    assert run.engine.state(WWW).output == "status 1"
    run.result(WWW, CRIT, 1)
    assert run.engine.state(WWW).state == 1
    run.result(WWW, UNKNOWN, 2)
    assert run.engine.state(WWW).state == 1
    run.result(WWW, 1, 3, passive=True)
    assert run.engine.state(WWW).state == 1


def test_service_status_outside_0_to_3_becomes_unknown() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    run.result(HTTPS, 127, 0)
    assert run.state() == (UNKNOWN, HARD, 1)


def test_out_of_order_result_does_not_roll_state_back() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    run.result(HTTPS, CRIT, 5)
    late = CheckResult(HTTPS, OK, "late", started_at=minutes(4))
    out = run.engine.ingest(late, minutes(6))
    assert out.empty and out.reason is not None and "out_of_order" in out.reason
    assert run.state() == (CRIT, HARD, 1)


def test_result_for_unknown_key_gives_empty_outcome() -> None:
    eng = Engine(build_plan())
    out = eng.ingest(CheckResult(CheckKey("nope", "x"), 2, "x", started_at=minutes(0)), minutes(0))
    assert out.empty and out.reason == "nope/x is not in the configuration"


def test_outcome_holds_the_changed_state() -> None:
    eng = Engine(build_plan())
    out = eng.ingest(CheckResult(HTTPS, CRIT, "boom", started_at=minutes(0)), minutes(0))
    assert out.states[HTTPS] == eng.state(HTTPS)
    assert out.states[HTTPS].output == "boom"


def test_reload_keeps_present_keys_adds_pending_and_drops_gone() -> None:
    eng = Engine(build_plan())
    eng.ingest(CheckResult(HTTPS, CRIT, "x", started_at=minutes(0)), minutes(0))
    new_plan = build_plan(services=[("www", "https"), ("www", "ssh")])
    eng.reload(new_plan)
    assert eng.state(HTTPS).state == CRIT
    assert eng.state(CheckKey("www", "ssh")).checked is False
    eng.reload(build_plan(services=[("www", "ssh")]))
    assert HTTPS not in eng.states


def test_a_host_whose_check_is_removed_is_assumed_up_again() -> None:
    """Its DOWN came from a check that is gone; nothing could ever change it again."""
    eng = Engine(build_plan(host=host_policy(max_check_attempts=1)))
    eng.ingest(CheckResult(WWW, 2, "no answer", started_at=minutes(0)), minutes(0))
    assert eng.state(WWW).state == 1
    out = eng.reload(build_plan(host_check=False))
    assert (eng.state(WWW).state, eng.state(WWW).output) == (0, "(Host assumed to be UP)")
    assert out.states[WWW] == eng.state(WWW)  # stored, so the CLI and a restart agree
    assert HTTPS not in out.states  # unchanged states are not rewritten
    # the same from a store after a restart with the new config
    down = Engine(build_plan(host=host_policy(max_check_attempts=1)))
    down.ingest(CheckResult(WWW, 2, "no answer", started_at=minutes(0)), minutes(0))
    restarted = Engine(build_plan(host_check=False), down.states)
    assert restarted.state(WWW).state == 0
    assert restarted.changed_at_start().states == {WWW: restarted.state(WWW)}  # to be stored
    assert restarted.changed_at_start().empty  # once


def test_engine_restored_from_states_continues_counting() -> None:
    first = Engine(build_plan())
    first.ingest(CheckResult(HTTPS, CRIT, "x", started_at=minutes(0)), minutes(0))
    second = Engine(build_plan(), first.states)
    second.ingest(CheckResult(HTTPS, CRIT, "x", started_at=minutes(1)), minutes(1))
    assert (second.state(HTTPS).state_type, second.state(HTTPS).attempt) == (SOFT, 2)


def test_check_state_codec_round_trip() -> None:
    state = CheckState(
        key=HTTPS,
        state=2,
        state_type=SOFT,
        attempt=2,
        checked=True,
        last_check=1.5,
        output="o;k",
        perfdata=(PerfDatum("time", 0.1, "s", "1", "2", 0.0, None),),
        notified_on=frozenset({1, 2}),
        state_history=(0, 2, 0),
        is_flapping=True,
        percent_state_change=12.5,
        acknowledgement=Acknowledgement("a", "c", 3.0, sticky=True, expires_at=9.0),
        no_more_notifications=True,
        downtime_depth=2,
        extra={"x": 1},
    )
    assert from_jsonable(CheckState, to_jsonable(state)) == state


def test_codec_round_trip_of_engine_states() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, flap_detection=True)))
    run.results(HTTPS, [OK, CRIT, OK, CRIT])
    for state in run.engine.states.values():
        assert from_jsonable(CheckState, to_jsonable(state)) == state


def test_states_read_back_hold_the_plans_keys_and_share_their_empty_parts() -> None:
    """A state read back at start-up (or kept over a reload) is held with the plan's own key
    object, not an equal copy with its own host and service names; its empty parts and zero
    times are the shared objects. Nothing of it differs."""
    services = [("www", "https"), ("www", "ssh")]
    run = Run(build_plan(svc=policy(max_check_attempts=1), services=services))
    run.results(HTTPS, [OK, CRIT])
    stored = {str(k): to_jsonable(st) for k, st in run.engine.states.items()}
    read = {CheckKey.parse(k): from_jsonable(CheckState, raw) for k, raw in stored.items()}
    plan = build_plan(svc=policy(max_check_attempts=1), services=services)
    eng = Engine(plan, read)
    key = next(k for k in plan.services if k == HTTPS)
    assert eng.state(HTTPS) == read[HTTPS]
    assert eng.state(HTTPS).key is key and read[HTTPS].key is not key
    assert eng.changed_at_start().empty  # a new key object is no change to store
    host, ssh = eng.state(WWW), eng.state(CheckKey("www", "ssh"))
    assert eng.state(HTTPS).notified_on == {CRIT}
    assert host.notified_on is ssh.notified_on == frozenset()
    assert host.last_notification is ssh.next_notification is ssh.last_check == 0.0
    assert host.extra is ssh.extra is CheckState(WWW).extra
    newer = build_plan(svc=policy(max_check_attempts=1), services=services)
    out = eng.reload(newer)
    assert eng.state(HTTPS).key is next(k for k in newer.services if k == HTTPS)
    assert out.empty and eng.state(HTTPS) == read[HTTPS]


def test_result_from_the_future_does_not_block_later_results() -> None:
    eng = Engine(build_plan(svc=policy(max_check_attempts=1)))
    skewed = CheckResult(HTTPS, CRIT, "skewed", started_at=minutes(600))
    eng.ingest(skewed, minutes(0))
    assert eng.state(HTTPS).last_check == minutes(0)
    eng.ingest(CheckResult(HTTPS, OK, "fine", started_at=minutes(1)), minutes(1))
    assert eng.state(HTTPS).state == OK


def test_reload_in_steps_switches_to_the_new_plan_at_the_last_step() -> None:
    """What a server runs slice by slice, the event loop turning in between."""
    eng = Engine(build_plan(host=host_policy(max_check_attempts=1)))
    eng.ingest(CheckResult(WWW, 2, "no answer", started_at=minutes(0)), minutes(0))
    eng.ingest(CheckResult(HTTPS, CRIT, "x", started_at=minutes(0)), minutes(0))
    old_plan = eng.plan
    services = [("www", "https"), *((("www", f"s{i}")) for i in range(5))]
    new_plan = build_plan(host_check=False, services=services)
    steps = eng.reload_steps(new_plan, chunk=2)
    for _ in range(5):  # 7 keys in 4 slices of 2, then the host keys
        next(steps)
        assert eng.plan is old_plan and set(eng.states) == {WWW, HTTPS}  # not switched yet
        assert eng.state(WWW).state == 1
    with pytest.raises(StopIteration) as done:
        next(steps)
    out = done.value.value
    assert eng.plan is new_plan and len(eng.states) == 7
    assert eng.state(HTTPS).state == CRIT  # kept
    assert eng.state(CheckKey("www", "s3")).checked is False  # new: pending
    assert (eng.state(WWW).state, eng.state(WWW).output) == (0, "(Host assumed to be UP)")
    assert out.states == {WWW: eng.state(WWW)}  # only what the new plan changed
