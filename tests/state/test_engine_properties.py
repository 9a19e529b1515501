"""Invariants over random result sequences, acks, downtimes and time jumps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from state_helpers import HTTPS, T0, WWW, Run, build_plan, host_policy, minutes, policy

from augenmass.core.values import Acknowledgement, CheckState, Downtime, from_jsonable, to_jsonable

policies = st.builds(
    policy,
    max_check_attempts=st.integers(1, 4),
    recovery_attempts=st.integers(1, 3),
    flap_detection=st.booleans(),
    notification_interval=st.sampled_from([0.0, 120.0, 600.0]),
    first_notification_delay=st.sampled_from([0.0, 90.0]),
    volatile=st.booleans(),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("svc"), st.integers(0, 3)),
        st.tuples(st.just("host"), st.integers(0, 2)),
        st.tuples(st.just("ack"), st.booleans()),
        st.tuples(st.just("downtime"), st.integers(1, 20)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
    ),
    max_size=60,
)


def play(run: Run, script: list[tuple[str, object]]) -> None:
    for i, (what, arg) in enumerate(script):
        minute = (run.now - T0) / 60 + 1  # every step moves time on by a minute at least
        if what == "svc":
            run.result(HTTPS, int(arg), minute)  # type: ignore[call-overload]
        elif what == "host":
            run.result(WWW, int(arg), minute)  # type: ignore[call-overload]
        elif what == "ack":
            run.advance(minutes(minute))
            ack = Acknowledgement("a", "c", run.now, sticky=bool(arg), notify=True)
            run._keep(run.engine.acknowledge(HTTPS, ack, run.now))
        elif what == "downtime":
            run.advance(minutes(minute))
            end = run.now + int(arg) * 60  # type: ignore[call-overload]
            run._keep(run.engine.schedule_downtime(Downtime(f"d{i}", HTTPS, run.now, end), run.now))
        else:
            run.advance(minutes(minute + int(arg)))  # type: ignore[call-overload]


@settings(max_examples=150, deadline=None)
@given(pol=policies, script=steps)
def test_attempt_stays_within_1_and_max(pol: object, script: list[tuple[str, object]]) -> None:
    run = Run(build_plan(svc=pol, host=host_policy(max_check_attempts=2)))  # type: ignore[arg-type]
    play(run, script)
    for event in run.events:
        if event.key == HTTPS:
            assert 1 <= event.attempt <= run.plan.policy(HTTPS).max_check_attempts


@settings(max_examples=150, deadline=None)
@given(pol=policies, script=steps)
def test_recovery_only_after_a_problem_and_numbers_count_up(
    pol: object, script: list[tuple[str, object]]
) -> None:
    run = Run(build_plan(svc=pol, host=host_policy(max_check_attempts=2)))  # type: ignore[arg-type]
    play(run, script)
    for key in (HTTPS, WWW):
        last_problem = 0
        for note in run.notes(key):
            kind, number = note.data["type"], note.data["number"]
            if kind == "PROBLEM":
                assert number == last_problem + 1
                last_problem = number
            elif kind == "RECOVERY":
                assert last_problem > 0 and number == last_problem + 1
                last_problem = 0
        for state in run.engine.states.values():
            assert from_jsonable(CheckState, to_jsonable(state)) == state


@settings(max_examples=100, deadline=None)
@given(pol=policies, script=steps)
def test_no_problem_notification_in_downtime_or_while_acknowledged(
    pol: object, script: list[tuple[str, object]]
) -> None:
    run = Run(build_plan(svc=pol, host=host_policy(max_check_attempts=2)))  # type: ignore[arg-type]
    play(run, script)
    depth, acked = 0, False
    for event in run.events:
        if event.key != HTTPS:
            continue
        if event.kind == "downtime_start":
            depth += 1
        if event.kind in ("downtime_end", "downtime_cancelled") and event.data["started"]:
            depth -= 1
        if event.kind == "acknowledgement":
            acked = True
        if event.kind == "acknowledgement_removed":
            acked = False
        if event.kind == "notification" and event.data["type"] == "PROBLEM":
            assert depth == 0 and not acked
