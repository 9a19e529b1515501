"""Acknowledgements: normal, sticky, expiry, removal, ignored on OK."""

from __future__ import annotations

from state_helpers import HTTPS, Run, build_plan, minutes, policy

from augenmass.core.values import Acknowledgement, CheckKey

OK, WARN, CRIT = 0, 1, 2


def crit_run(**kw: object) -> Run:
    run = Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=600, **kw)))
    run.result(HTTPS, CRIT, 0)
    return run


def ack(at: float, **kw: object) -> Acknowledgement:
    return Acknowledgement("ann", "on it", at, **kw)  # type: ignore[arg-type]


def test_ack_of_an_ok_object_is_ignored_with_a_reason() -> None:
    run = Run(build_plan())
    run.result(HTTPS, OK, 0)
    out = run.engine.acknowledge(HTTPS, ack(minutes(1)), minutes(1))
    assert out.empty and out.reason == "www/https has no problem to acknowledge"
    assert run.engine.state(HTTPS).acknowledgement is None


def test_ack_of_unknown_key_is_ignored() -> None:
    run = Run(build_plan())
    out = run.engine.acknowledge(CheckKey("x"), ack(minutes(1)), minutes(1))
    assert out.empty and out.reason is not None


def test_ack_without_notify_sends_nothing_and_stops_reminders() -> None:
    run = crit_run()
    out = run._keep(run.engine.acknowledge(HTTPS, ack(minutes(1)), minutes(1)))
    assert [e.kind for e in out.events] == ["acknowledgement"]
    assert out.states[HTTPS].acknowledgement == ack(minutes(1))
    run.advance(minutes(60))
    assert run.note_types() == ["PROBLEM"]


def test_ack_notification_carries_author_and_comment() -> None:
    run = crit_run()
    run._keep(run.engine.acknowledge(HTTPS, ack(minutes(1), notify=True), minutes(1)))
    note = run.notes()[-1]
    assert (note.data["type"], note.data["author"], note.data["comment"]) == (
        "ACKNOWLEDGEMENT",
        "ann",
        "on it",
    )
    assert note.data["number"] == 1  # acks do not count as a problem notification


def test_normal_ack_is_removed_by_recovery_and_recovery_is_sent() -> None:
    run = crit_run()
    run._keep(run.engine.acknowledge(HTTPS, ack(minutes(1)), minutes(1)))
    run.result(HTTPS, OK, 2)
    assert run.engine.state(HTTPS).acknowledgement is None
    assert run.note_types() == ["PROBLEM", "RECOVERY"]


def test_ack_expiry_removes_it_and_reminders_resume() -> None:
    run = crit_run()
    run._keep(run.engine.acknowledge(HTTPS, ack(minutes(1), expires_at=minutes(30)), minutes(1)))
    run.advance(minutes(35))
    removed = [e for e in run.events if e.kind == "acknowledgement_removed"]
    assert [(e.at, e.data["reason"]) for e in removed] == [(minutes(30), "expired")]
    assert [(e.data["type"], e.at) for e in run.notes()] == [
        ("PROBLEM", minutes(0)),
        ("PROBLEM", minutes(30)),
    ]


def test_remove_acknowledgement_resumes_due_reminder() -> None:
    run = crit_run()
    run._keep(run.engine.acknowledge(HTTPS, ack(minutes(1)), minutes(1)))
    run.advance(minutes(20))
    out = run._keep(run.engine.remove_acknowledgement(HTTPS, minutes(20)))
    assert [e.kind for e in out.events] == ["acknowledgement_removed", "notification"]
    assert run.notes()[-1].data["number"] == 2


def test_remove_acknowledgement_when_none_is_ignored() -> None:
    run = crit_run()
    out = run.engine.remove_acknowledgement(HTTPS, minutes(1))
    assert out.empty and out.reason == "www/https is not acknowledged"


def test_sticky_ack_stays_through_problem_changes() -> None:
    run = crit_run()
    sticky = ack(minutes(1), sticky=True)
    run._keep(run.engine.acknowledge(HTTPS, sticky, minutes(1)))
    run.results(HTTPS, [WARN, CRIT, WARN], start=2)
    assert run.engine.state(HTTPS).acknowledgement == sticky
    assert run.note_types() == ["PROBLEM"]


def test_an_ack_restored_onto_a_pending_state_survives_the_first_problem_result() -> None:
    """After a lost store, acks come back from the sidecar on PENDING states (checked=False)."""
    from augenmass.core.plan import CheckSpec, HostPlan, Plan, Policy, ServicePlan
    from augenmass.core.values import Acknowledgement, CheckKey, CheckResult, CheckState
    from augenmass.state import Engine

    key = CheckKey("h", "s")
    plan = Plan(
        hosts={"h": HostPlan("h")},
        services={
            key: ServicePlan("h", "s", CheckSpec("dummy"), policy=Policy(max_check_attempts=1))
        },
    )
    ack = Acknowledgement(author="op", comment="known", at=100.0)
    eng = Engine(plan, {key: CheckState(key, acknowledgement=ack)})
    eng.ingest(CheckResult(key, 2, "still broken", started_at=200.0), 200.0)
    assert eng.state(key).acknowledgement == ack
    eng.ingest(CheckResult(key, 0, "fixed", started_at=260.0), 260.0)
    assert eng.state(key).acknowledgement is None
