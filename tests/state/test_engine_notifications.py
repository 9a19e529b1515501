"""Notification timing and routing: periods, escalations, filters, volatile, reminders."""

from __future__ import annotations

from state_helpers import HTTPS, Run, Window, build_plan, minutes, policy

from augenmass.core.plan import Contact, Escalation
from augenmass.core.values import Acknowledgement, Downtime

OK, WARN, CRIT = 0, 1, 2


def test_closed_notification_period_holds_problem_until_it_opens() -> None:
    work = Window("work", [(minutes(30), minutes(90))])
    run = Run(
        build_plan(svc=policy(max_check_attempts=1, notification_period="work"), timeperiods=[work])
    )
    out = run.result(HTTPS, CRIT, 0)
    assert {"type": "PROBLEM", "reason": "period"} in [e.data for e in out.events]
    run.advance(minutes(45))
    assert [(e.data["type"], e.at) for e in run.notes()] == [("PROBLEM", minutes(30))]


def test_closed_period_holds_recovery_too() -> None:
    work = Window("work", [(minutes(0), minutes(5)), (minutes(60), minutes(90))])
    run = Run(
        build_plan(svc=policy(max_check_attempts=1, notification_period="work"), timeperiods=[work])
    )
    run.result(HTTPS, CRIT, 0)
    run.result(HTTPS, OK, 10)
    assert run.note_types() == ["PROBLEM"]
    run.advance(minutes(70))
    assert [(e.data["type"], e.at) for e in run.notes()] == [
        ("PROBLEM", minutes(0)),
        ("RECOVERY", minutes(60)),
    ]


def test_problem_that_recovered_while_period_closed_sends_nothing() -> None:
    work = Window("work", [(minutes(60), minutes(90))])
    run = Run(
        build_plan(svc=policy(max_check_attempts=1, notification_period="work"), timeperiods=[work])
    )
    run.results(HTTPS, [CRIT, OK])
    run.advance(minutes(70))
    assert run.notes() == []


def test_escalation_by_time_since_hard_change() -> None:
    esc = Escalation(after=1800, contact_groups=("mgrs",), replace=False)
    plan = build_plan(
        svc=policy(max_check_attempts=1, notification_interval=900, escalations=(esc,)),
        contacts=[Contact("alice"), Contact("boss")],
        groups={"admins": ("alice",), "mgrs": ("boss",)},
    )
    run = Run(plan)
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(46))
    got = [(e.at, e.data["contacts"], e.data["escalated"]) for e in run.notes()]
    assert got == [
        (minutes(0), ["alice"], False),
        (minutes(15), ["alice"], False),
        (minutes(30), ["alice", "boss"], True),
        (minutes(45), ["alice", "boss"], True),
    ]


def test_escalation_interval_overrides_the_object_interval() -> None:
    esc = Escalation(first=2, contact_groups=("admins",), notification_interval=300)
    run = Run(
        build_plan(svc=policy(max_check_attempts=1, notification_interval=1800, escalations=(esc,)))
    )
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(41))
    assert [e.at for e in run.notes()] == [minutes(0), minutes(30), minutes(35), minutes(40)]


def test_volatile_service_notifies_on_every_hard_problem_result() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, volatile=True)))
    run.results(HTTPS, [CRIT, CRIT, CRIT, OK])
    assert run.note_types() == ["PROBLEM", "PROBLEM", "PROBLEM", "RECOVERY"]
    assert [e.data["number"] for e in run.notes()] == [1, 2, 3, 4]


def test_contact_filters_by_state_and_recovery_only_for_notified_states() -> None:
    plan = build_plan(
        svc=policy(max_check_attempts=1),
        contacts=[Contact("alice"), Contact("carl", notify_on=frozenset({"critical", "recovery"}))],
        groups={"admins": ("alice", "carl")},
    )
    run = Run(plan)
    run.results(HTTPS, [WARN, OK])
    assert [(e.data["type"], e.data["contacts"]) for e in run.notes()] == [
        ("PROBLEM", ["alice"]),
        ("RECOVERY", ["alice"]),
    ]
    run.results(HTTPS, [CRIT, OK], start=5)
    assert [e.data["contacts"] for e in run.notes()][2:] == [["alice", "carl"], ["alice", "carl"]]


def test_nobody_to_notify_does_not_increment_the_number() -> None:
    plan = build_plan(
        svc=policy(max_check_attempts=1, notification_interval=600),
        contacts=[Contact("carl", notify_on=frozenset({"critical"}))],
        groups={"admins": ("carl",)},
    )
    run = Run(plan)
    out = run.result(HTTPS, WARN, 0)
    assert {"type": "PROBLEM", "reason": "no_recipients"} in [e.data for e in out.events]
    assert run.engine.state(HTTPS).notification_number == 0
    run.result(HTTPS, CRIT, 1)
    assert [(e.data["number"], e.data["contacts"]) for e in run.notes()] == [(1, ["carl"])]


def test_contact_period_closed_retries_when_it_opens() -> None:
    night = Window("night", [(minutes(20), minutes(80))])
    plan = build_plan(
        svc=policy(max_check_attempts=1),
        contacts=[Contact("owl", notification_period="night")],
        groups={"admins": ("owl",)},
        timeperiods=[night],
    )
    run = Run(plan)
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(30))
    assert [(e.at, e.data["contacts"]) for e in run.notes()] == [(minutes(20), ["owl"])]


def test_object_notify_on_filter_and_disabled_notifications() -> None:
    only_crit = frozenset({"critical", "recovery"})
    run = Run(build_plan(svc=policy(max_check_attempts=1, notify_on=only_crit)))
    out = run.result(HTTPS, WARN, 0)
    assert {"type": "PROBLEM", "reason": "filtered"} in [e.data for e in out.events]
    off = Run(build_plan(svc=policy(max_check_attempts=1, notifications_enabled=False)))
    off.results(HTTPS, [CRIT, OK])
    assert off.notes() == []


def test_reminders_follow_the_interval_until_recovery() -> None:
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=600)))
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(25))
    run.result(HTTPS, OK, 25)
    run.advance(minutes(60))
    assert [(e.data["type"], e.at) for e in run.notes()] == [
        ("PROBLEM", minutes(0)),
        ("PROBLEM", minutes(10)),
        ("PROBLEM", minutes(20)),
        ("RECOVERY", minutes(25)),
    ]


def test_soft_problem_results_report_suppression_reason_soft() -> None:
    run = Run(build_plan())
    out = run.result(HTTPS, CRIT, 0)
    assert [e.data for e in out.events if e.kind == "notification_suppressed"] == [
        {"type": "PROBLEM", "reason": "soft"}
    ]


def test_ack_notification_waits_for_the_period() -> None:
    work = Window("work", [(minutes(0), minutes(1)), (minutes(60), minutes(120))])
    run = Run(
        build_plan(svc=policy(max_check_attempts=1, notification_period="work"), timeperiods=[work])
    )
    run.result(HTTPS, CRIT, 0)
    run.advance(minutes(5))
    ack = Acknowledgement("ann", "later", minutes(5), notify=True)
    run._keep(run.engine.acknowledge(HTTPS, ack, minutes(5)))
    assert run.engine.state(HTTPS).held_notifications == ("ACKNOWLEDGEMENT",)
    run.advance(minutes(70))
    note = run.notes()[-1]
    assert (note.data["type"], note.at, note.data["author"]) == (
        "ACKNOWLEDGEMENT",
        minutes(60),
        "ann",
    )
    assert run.engine.state(HTTPS).held_notifications == ()


def test_downtime_start_and_end_outside_the_period_cancel_out() -> None:
    work = Window("work", [(minutes(60), minutes(120))])
    run = Run(build_plan(svc=policy(notification_period="work"), timeperiods=[work]))
    run.result(HTTPS, OK, 0)
    downtime = Downtime("d", HTTPS, minutes(10), minutes(20))
    run._keep(run.engine.schedule_downtime(downtime, minutes(0)))
    run.advance(minutes(70))
    assert run.notes() == []
    assert run.engine.state(HTTPS).held_notifications == ()
