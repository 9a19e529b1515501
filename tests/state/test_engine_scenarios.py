"""docs/semantics.md §16: scenarios 1–15 against the engine, with our decisions applied.

Scenarios 1, 2, 8 and 13 also run end-to-end through simulate (test_simulate_scenarios.py).
"""

from __future__ import annotations

from state_helpers import HTTPS, WWW, Run, build_plan, host_policy, minutes, policy

from augenmass.core.plan import Contact, Escalation
from augenmass.core.values import Acknowledgement, CheckKey, Downtime, StateType

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3
HARD, SOFT = StateType.HARD, StateType.SOFT


def test_1_soft_recovery_never_notifies() -> None:
    run = Run(build_plan())
    run.result(HTTPS, OK, 0)
    assert run.state() == (OK, HARD, 1)
    run.result(HTTPS, CRIT, 1)
    assert run.state() == (CRIT, SOFT, 1)
    assert run.engine.next_check_interval(HTTPS) == 60.0
    run.result(HTTPS, CRIT, 2)
    assert run.state() == (CRIT, SOFT, 2)
    out = run.result(HTTPS, OK, 3)
    assert run.state() == (OK, HARD, 1)
    soft = [e for e in out.events if e.kind == "state"]
    assert soft[0].data["soft_recovery"] is True
    assert (soft[0].state_type, soft[0].attempt) == (SOFT, 3)  # logged OK;SOFT;3
    assert run.notes() == []


def test_2_plain_hard_problem_and_recovery() -> None:
    """Decision: attempt stays at max (3) in the HARD problem, as in Nagios."""
    run = Run(build_plan())
    run.results(HTTPS, [OK, CRIT, CRIT, CRIT])
    assert run.state() == (CRIT, HARD, 3)
    assert [(e.data["type"], e.data["number"]) for e in run.notes()] == [("PROBLEM", 1)]
    assert run.notes()[0].data["contacts"] == ["alice", "bob"]
    run.result(HTTPS, CRIT, 4)
    assert len(run.notes()) == 1
    run.result(HTTPS, OK, 5)
    assert run.state() == (OK, HARD, 1)
    assert run.note_types() == ["PROBLEM", "RECOVERY"]
    assert run.engine.state(HTTPS).notification_number == 0


def test_3_max_attempts_1_problem_to_problem_keeps_counting() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    run.results(HTTPS, [OK, CRIT, WARN, OK])
    got = [(e.data["type"], e.data["number"], e.state) for e in run.notes()]
    assert got == [("PROBLEM", 1, CRIT), ("PROBLEM", 2, WARN), ("RECOVERY", 3, OK)]


def test_4_state_changes_while_soft_keep_counting() -> None:
    run = Run(build_plan())
    run.results(HTTPS, [OK, CRIT, WARN])
    assert run.state() == (WARN, SOFT, 2)
    run.result(HTTPS, CRIT, 3)
    assert run.state() == (CRIT, HARD, 3)
    assert [(e.data["type"], e.state) for e in run.notes()] == [("PROBLEM", CRIT)]


def test_5_renotification_every_interval() -> None:
    """Reminders are tick-driven (Icinga-like), so they carry the exact due time; with one
    check a minute that equals Nagios' "first check >= t0+5 min"."""
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=300)))
    run.results(HTTPS, [CRIT] * 13)  # t0 .. t0+12 min, one check a minute
    assert [(e.at, e.data["number"]) for e in run.notes()] == [
        (minutes(0), 1),
        (minutes(5), 2),
        (minutes(10), 3),
    ]


def test_5b_notification_interval_zero_notifies_once() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=0)))
    run.results(HTTPS, [CRIT] * 13)
    run.advance(minutes(120))
    assert [e.data["number"] for e in run.notes()] == [1]


def _hard_crit(run: Run) -> None:
    run.results(HTTPS, [OK, CRIT])
    assert run.note_types() == ["PROBLEM"]


def test_6_normal_ack_is_removed_by_a_change_to_another_problem() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=600)))
    _hard_crit(run)
    ack = Acknowledgement("op", "looking", minutes(2), notify=True)
    run._keep(run.engine.acknowledge(HTTPS, ack, minutes(2)))
    assert run.note_types() == ["PROBLEM", "ACKNOWLEDGEMENT"]
    run.results(HTTPS, [CRIT] * 20, start=3)  # reminders stop while acknowledged
    assert run.note_types() == ["PROBLEM", "ACKNOWLEDGEMENT"]
    run.result(HTTPS, WARN, 30)
    assert run.engine.state(HTTPS).acknowledgement is None
    assert "acknowledgement_removed" in run.kinds()
    last = run.notes()[-1]
    assert (last.data["type"], last.state, last.data["number"]) == ("PROBLEM", WARN, 2)


def test_6b_sticky_ack_survives_problem_change_and_recovery_is_sent() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    _hard_crit(run)
    ack = Acknowledgement("op", "known", minutes(2), sticky=True)
    run._keep(run.engine.acknowledge(HTTPS, ack, minutes(2)))
    run.result(HTTPS, WARN, 3)
    assert run.engine.state(HTTPS).acknowledgement == ack
    assert run.note_types() == ["PROBLEM"]
    run.result(HTTPS, OK, 4)
    assert run.engine.state(HTTPS).acknowledgement is None
    assert run.note_types() == ["PROBLEM", "RECOVERY"]


def _downtime(start: float, end: float, **kw: object) -> Downtime:
    return Downtime(id="dt1", key=HTTPS, start=start, end=end, **kw)  # type: ignore[arg-type]


def test_7_downtime_during_a_hard_problem_still_critical_after() -> None:
    """Decision (Icinga 2 model): reminders held during the downtime resume at its end."""
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=600)))
    _hard_crit(run)  # N#1 at minute 1
    run._keep(run.engine.schedule_downtime(_downtime(minutes(5), minutes(35)), minutes(2)))
    run.results(HTTPS, [CRIT] * 40, start=2)  # up to minute 41
    types = [(e.data["type"], e.at) for e in run.notes()]
    assert types[:3] == [
        ("PROBLEM", minutes(1)),
        ("DOWNTIMESTART", minutes(5)),
        ("DOWNTIMEEND", minutes(35)),
    ]
    assert not [t for t in types if t[0] == "PROBLEM" and minutes(5) <= t[1] < minutes(35)]
    assert ("PROBLEM", minutes(35)) in types  # the held reminder at the end
    assert run.engine.state(HTTPS).downtime_depth == 0


def test_7b_recovery_inside_downtime_is_sent_when_it_ends() -> None:
    """Decision (Icinga 2 model): the held RECOVERY fires when the downtime ends."""
    run = Run(build_plan(svc=policy(max_check_attempts=1)))
    _hard_crit(run)
    run._keep(run.engine.schedule_downtime(_downtime(minutes(5), minutes(35)), minutes(2)))
    run.result(HTTPS, OK, 10)
    assert run.note_types() == ["PROBLEM", "DOWNTIMESTART"]
    run.advance(minutes(40))
    rec = run.notes()[-1]
    assert (rec.data["type"], rec.at) == ("RECOVERY", minutes(35))
    assert run.note_types() == ["PROBLEM", "DOWNTIMESTART", "DOWNTIMEEND", "RECOVERY"]


def test_8_problem_starting_inside_a_downtime_is_sent_at_its_end() -> None:
    """Decision (Icinga 2 model): the held PROBLEM fires when the downtime ends, not at the
    first check after it (Nagios)."""
    run = Run(build_plan())
    run.result(HTTPS, OK, 0)
    run._keep(run.engine.schedule_downtime(_downtime(minutes(0), minutes(60)), minutes(0)))
    run.results(HTTPS, [CRIT] * 5, start=8)
    assert run.state() == (CRIT, HARD, 3)
    assert "PROBLEM" not in run.note_types()
    suppressed = [e for e in run.events if e.kind == "notification_suppressed"]
    assert {"type": "PROBLEM", "reason": "downtime"} in [e.data for e in suppressed]
    run.advance(minutes(61))
    problem = [e for e in run.notes() if e.data["type"] == "PROBLEM"]
    assert [(e.at, e.data["number"]) for e in problem] == [(minutes(60), 1)]


def test_8b_problem_recovered_inside_the_downtime_sends_nothing() -> None:
    run = Run(build_plan())
    run.result(HTTPS, OK, 0)
    run._keep(run.engine.schedule_downtime(_downtime(minutes(0), minutes(60)), minutes(0)))
    run.results(HTTPS, [CRIT, CRIT, CRIT, OK], start=8)
    run.advance(minutes(90))
    assert [t for t in run.note_types() if t in ("PROBLEM", "RECOVERY")] == []


def test_9_service_goes_hard_at_once_while_its_host_is_down() -> None:
    run = Run(build_plan())
    run.result(HTTPS, OK, 0)
    for m in (1, 2, 3):
        run.result(WWW, CRIT, m)
    assert run.state(WWW) == (1, HARD, 3)  # DOWN
    assert run.note_types(WWW) == ["PROBLEM"]
    run.result(HTTPS, CRIT, 4)
    assert run.state() == (CRIT, HARD, 3)
    assert run.note_types(HTTPS) == []
    reasons = [e.data["reason"] for e in run.events if e.kind == "notification_suppressed"]
    assert "host_down" in reasons
    run.result(WWW, OK, 5)
    assert run.note_types(WWW) == ["PROBLEM", "RECOVERY"]
    run.result(HTTPS, OK, 6)
    assert run.state() == (OK, HARD, 1)
    assert run.note_types(HTTPS) == []  # no service problem was ever notified


def test_9b_host_behind_a_down_router_is_unreachable() -> None:
    """A contact with host options down+recovery gets nothing for the UNREACHABLE host."""
    plan = build_plan(
        hosts={"router": (), "www": ("router",)},
        host=host_policy(max_check_attempts=1),
        contacts=[Contact("alice", notify_on=frozenset({"down", "recovery"}))],
        groups={"admins": ("alice",)},
    )
    run = Run(plan)
    router = CheckKey("router")
    run.result(router, CRIT, 0)
    run.result(WWW, CRIT, 1)
    assert run.state(WWW) == (2, HARD, 1)  # UNREACHABLE
    assert run.note_types(router) == ["PROBLEM"]
    run.result(router, OK, 2)
    run.result(WWW, OK, 3)
    assert run.notes(WWW) == []


def test_10_flapping_start_and_stop() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, flap_detection=True)))
    run.results(HTTPS, [OK] * 21)
    flips = [CRIT, OK, CRIT, OK, CRIT]
    run.results(HTTPS, flips, start=21)
    assert run.note_types() == ["PROBLEM", "RECOVERY", "PROBLEM", "RECOVERY", "PROBLEM"]
    assert run.engine.state(HTTPS).percent_state_change == 29.93
    out = run.result(HTTPS, OK, 26)  # the 6th change
    assert run.engine.state(HTTPS).percent_state_change == 35.53
    assert run.engine.state(HTTPS).is_flapping
    assert [e.data.get("type") for e in out.events if e.kind == "notification"] == ["FLAPPINGSTART"]
    run.results(HTTPS, [OK] * 15, start=27)  # 15 stable results after the 6th change
    assert run.engine.state(HTTPS).is_flapping
    assert run.engine.state(HTTPS).percent_state_change == 20.07
    assert run.note_types()[-1] == "FLAPPINGSTART"  # no PROBLEM/RECOVERY while flapping
    run.result(HTTPS, OK, 42)  # the 16th stable result
    state = run.engine.state(HTTPS)
    assert not state.is_flapping
    assert run.note_types()[-3:] == ["FLAPPINGSTART", "FLAPPINGSTOP", "RECOVERY"]


def test_11_unknown_result_follows_normal_soft_hard() -> None:
    """The runner turns exit >3 / timeouts into UNKNOWN (decision); here: UNKNOWN is a
    normal problem state."""
    run = Run(build_plan())
    run.results(HTTPS, [OK, UNKNOWN, UNKNOWN])
    assert run.state() == (UNKNOWN, SOFT, 2)
    run.result(HTTPS, UNKNOWN, 3)
    assert run.state() == (UNKNOWN, HARD, 3)
    assert [(e.data["type"], e.state) for e in run.notes()] == [("PROBLEM", UNKNOWN)]


def test_12_first_notification_delay() -> None:
    """The delay is measured from the hard change; the PROBLEM fires at the tick when it
    has elapsed (t0+5 min), which is where the first check >= t0+5 min would be."""
    run = Run(build_plan(svc=policy(max_check_attempts=1, first_notification_delay=300)))
    run.results(HTTPS, [OK, CRIT])
    assert run.notes() == []
    run.results(HTTPS, [CRIT] * 6, start=2)
    assert [(e.data["type"], e.at) for e in run.notes()] == [("PROBLEM", minutes(6))]


def test_12b_recovery_before_the_delay_sends_nothing() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, first_notification_delay=300)))
    run.results(HTTPS, [OK, CRIT])
    run.result(HTTPS, OK, 4)
    run.advance(minutes(30))
    assert run.notes() == []


def test_13_escalation_by_number() -> None:
    esc = Escalation(first=3, last=5, contact_groups=("mgrs",))
    plan = build_plan(
        svc=policy(max_check_attempts=1, notification_interval=600, escalations=(esc,)),
        contacts=[Contact("alice"), Contact("bob"), Contact("boss")],
        groups={"admins": ("alice", "bob"), "mgrs": ("boss",)},
    )
    run = Run(plan)
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(60))  # N#1 .. N#7 at 0, 10, .., 60
    got = [(e.data["number"], tuple(e.data["contacts"])) for e in run.notes()]
    normal, mgrs = ("alice", "bob"), ("boss",)
    assert got == [
        (1, normal),
        (2, normal),
        (3, mgrs),
        (4, mgrs),
        (5, mgrs),
        (6, normal),
        (7, normal),
    ]


def test_13b_recovery_goes_to_whoever_got_the_last_problem() -> None:
    esc = Escalation(first=3, last=5, contact_groups=("mgrs",))
    plan = build_plan(
        svc=policy(max_check_attempts=1, notification_interval=600, escalations=(esc,)),
        contacts=[Contact("alice"), Contact("bob"), Contact("boss")],
        groups={"admins": ("alice", "bob"), "mgrs": ("boss",)},
    )
    run = Run(plan)
    run.result(HTTPS, CRIT, 0)
    run.result(HTTPS, CRIT, 35)  # N#4 went out at minute 30
    run.result(HTTPS, OK, 36)
    rec = run.notes()[-1]
    assert rec.data["type"] == "RECOVERY"
    assert (rec.data["contacts"], rec.data["escalated"]) == (["boss"], True)


def test_14_passive_host_result_is_hard_at_once() -> None:
    run = Run(build_plan(hosts={"router": (), "www": ("router",)}))
    run.result(WWW, 1, 0, passive=True)
    assert run.state(WWW) == (1, HARD, 1)  # DOWN HARD A1
    assert run.note_types(WWW) == ["PROBLEM"]


def test_14b_passive_host_result_with_all_parents_down_is_unreachable() -> None:
    run = Run(build_plan(hosts={"router": (), "www": ("router",)}))
    run.result(CheckKey("router"), 1, 0, passive=True)
    run.result(WWW, 1, 1, passive=True)
    assert run.state(WWW) == (2, HARD, 1)


def test_15_passive_results_then_a_forced_check_result() -> None:
    """Freshness itself is the scheduler's; the engine takes the passive results and the
    forced check's UNKNOWN through the normal soft/hard logic."""
    run = Run(build_plan())
    run.result(HTTPS, OK, 0, passive=True)
    assert run.state() == (OK, HARD, 1)
    run.result(HTTPS, UNKNOWN, 11, output="stale")  # the forced active check
    assert run.state() == (UNKNOWN, SOFT, 1)
    assert run.engine.state(HTTPS).output == "stale"
    run.result(HTTPS, UNKNOWN, 12, passive=True)
    run.result(HTTPS, UNKNOWN, 13, passive=True)
    assert run.state() == (UNKNOWN, HARD, 3)
    assert run.note_types() == ["PROBLEM"]
