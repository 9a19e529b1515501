"""Flap detection numbers (docs/semantics.md §10) and what flapping suppresses."""

from __future__ import annotations

import dataclasses

from state_helpers import HTTPS, WWW, Run, build_plan, host_policy, minutes, policy

from augenmass.core.values import Downtime
from augenmass.state.flapping import percent_state_change

OK, CRIT = 0, 2


def test_percent_state_change_for_consecutive_changes() -> None:
    history: tuple[int, ...] = (0,) * 21
    got = []
    for i in range(6):
        history = (history + ((i + 1) % 2 * 2,))[-21:]
        got.append(percent_state_change(history))
    assert got == [6.25, 12.37, 18.36, 24.21, 29.93, 35.53]


def test_stable_results_decay_the_percentage_by_0_79() -> None:
    history = (0,) * 15 + (2, 0, 2, 0, 2, 0)
    after_one = percent_state_change(history[1:] + (0,))
    assert round(percent_state_change(history) - after_one, 2) == 0.79


def test_short_history_counts_as_padded_with_its_first_state() -> None:
    assert percent_state_change((0, 2)) == 6.25
    assert percent_state_change(()) == 0.0


def _flapping_run(**kw: object) -> Run:
    run = Run(build_plan(svc=policy(max_check_attempts=1, flap_detection=True, **kw)))
    run.results(HTTPS, [OK, CRIT, OK, CRIT, OK, CRIT, OK])
    assert run.engine.state(HTTPS).is_flapping
    return run


def test_changes_while_flapping_send_no_problem_or_recovery() -> None:
    run = _flapping_run()
    before = len(run.notes())
    run.results(HTTPS, [CRIT, OK, CRIT, OK], start=7)
    assert len(run.notes()) == before
    reasons = {e.data["reason"] for e in run.events if e.kind == "notification_suppressed"}
    assert "flapping" in reasons


def test_flapping_stop_in_a_problem_state_resumes_problem_notifications() -> None:
    run = _flapping_run(notification_interval=600)
    run.results(HTTPS, [CRIT] * 20, start=7)
    assert not run.engine.state(HTTPS).is_flapping
    assert run.note_types()[-2:] == ["FLAPPINGSTOP", "PROBLEM"]


def test_flap_detection_off_records_but_never_flaps() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    run.results(HTTPS, [OK, CRIT] * 6)
    state = run.engine.state(HTTPS)
    assert not state.is_flapping and state.percent_state_change > 30
    assert "flapping_start" not in run.kinds()


def test_soft_problem_results_are_not_recorded_for_services() -> None:
    run = Run(build_plan(svc=policy(flap_detection=True)))
    run.results(HTTPS, [OK, CRIT, OK, CRIT, OK, CRIT, OK, CRIT, OK])
    assert set(run.engine.state(HTTPS).state_history) == {OK}  # soft recoveries are OK


def test_hosts_record_every_result() -> None:
    run = Run(build_plan(host=host_policy(flap_detection=True)))
    run.results(WWW, [OK, CRIT, OK, CRIT, OK, CRIT, OK])
    assert run.engine.state(WWW).is_flapping


def test_flappingstart_is_suppressed_in_downtime() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, flap_detection=True)))
    run._keep(
        run.engine.schedule_downtime(Downtime("d", HTTPS, minutes(0), minutes(60)), minutes(0))
    )
    run.results(HTTPS, [OK, CRIT, OK, CRIT, OK, CRIT, OK])
    assert "flapping_start" in run.kinds()
    assert "FLAPPINGSTART" not in run.note_types()


def test_steady_checks_share_one_history() -> None:
    """Every check keeps its ring of 21 states; checks with the same ring hold one object."""
    from augenmass.core.plan import Policy
    from augenmass.core.values import CheckKey, CheckState
    from augenmass.state.flapping import HISTORY, record

    policy = Policy()
    rings = []
    for name in ("a", "b", "c"):
        st = CheckState(CheckKey("h", name))
        for _ in range(HISTORY + 3):
            changes, _flap = record(st, 0, policy)
            st = dataclasses.replace(st, state_history=changes["state_history"])
        rings.append(st.state_history)
    assert rings[0] == (0,) * HISTORY
    assert rings[0] is rings[1] is rings[2]
