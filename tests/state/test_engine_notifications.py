"""Notification timing and routing: periods, escalations, filters, volatile, reminders."""

from __future__ import annotations

from state_helpers import HTTPS, Run, Window, build_plan, minutes, policy

from augenmass.core.plan import Contact, Escalation
from augenmass.core.values import Acknowledgement, CheckResult, CheckState, Downtime
from augenmass.state import Engine

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


def test_notification_says_when_the_problem_began_and_when_it_was_confirmed() -> None:
    run = Run(build_plan(svc=policy(notification_interval=600)))
    run.result(HTTPS, OK, 0)
    # M=3: the first failure at minute 1, a SOFT change to WARNING, HARD at minute 3
    run.results(HTTPS, [CRIT, WARN, CRIT], start=1)
    run.advance(minutes(14))  # one reminder at minute 13
    run.result(HTTPS, WARN, 15)  # a hard change: confirmed moves, began stays
    run.result(HTTPS, OK, 16)
    run.results(HTTPS, [CRIT, CRIT, CRIT], start=20)  # a new problem begins anew
    notes = run.notes()
    got = [(e.data["type"], e.at, e.data.get("began"), e.data.get("confirmed")) for e in notes]
    assert got == [
        ("PROBLEM", minutes(3), minutes(1), minutes(3)),
        ("PROBLEM", minutes(13), minutes(1), minutes(3)),
        ("PROBLEM", minutes(15), minutes(1), minutes(15)),
        ("RECOVERY", minutes(16), minutes(1), None),
        ("PROBLEM", minutes(22), minutes(20), minutes(22)),
    ]


def test_a_held_problem_and_an_ack_still_say_when_the_problem_began() -> None:
    delay = Run(build_plan(svc=policy(first_notification_delay=300)))
    delay.results(HTTPS, [CRIT, CRIT, CRIT], start=2)
    delay.advance(minutes(10))
    [note] = delay.notes()
    assert (note.at, note.data["began"], note.data["confirmed"]) == (
        minutes(9),
        minutes(2),
        minutes(4),
    )
    ack = Acknowledgement("ann", "on it", minutes(10), notify=True)
    delay._keep(delay.engine.acknowledge(HTTPS, ack, minutes(10)))
    assert delay.notes()[-1].data["type"] == "ACKNOWLEDGEMENT"
    assert delay.notes()[-1].data["began"] == minutes(2)


def test_a_state_stored_without_problem_since_falls_back_to_its_last_change() -> None:
    plan = build_plan(svc=policy(max_check_attempts=1, notification_interval=600))
    old = CheckState(
        HTTPS,
        state=CRIT,
        checked=True,
        last_check=minutes(0),
        last_state_change=minutes(0),
        last_hard_state_change=minutes(0),
        last_hard_state=CRIT,
        notification_number=1,
        last_notification=minutes(0),
        next_notification=minutes(10),
        notified_on=frozenset({CRIT}),
    )
    engine = Engine(plan, {HTTPS: old})
    [note] = [e for e in engine.tick(minutes(10)).events if e.kind == "notification"]
    assert (note.data["began"], note.data["confirmed"]) == (minutes(0), minutes(0))
    recovery = engine.ingest(CheckResult(HTTPS, OK, "OK", started_at=minutes(11)), minutes(11))
    [note] = [e for e in recovery.events if e.kind == "notification"]
    assert note.data["type"] == "RECOVERY" and "began" not in note.data  # not known
