"""docs/semantics.md §6: a service while its host is not UP. Only a HARD host problem sends a
failing service HARD at once; a SOFT one (a host blip) leaves the service its own retries."""

from __future__ import annotations

from state_helpers import HTTPS, WWW, Run, build_plan, host_policy, minutes, policy

from augenmass.core.values import CheckKey, StateType

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3
HARD, SOFT = StateType.HARD, StateType.SOFT
DOWN, UNREACHABLE = 1, 2

# retry and check interval differ, so next_check_interval tells SOFT from HARD
SVC = policy(check_interval=300.0, retry_interval=30.0)


def suppressed(run: Run, key: CheckKey = HTTPS) -> list[tuple[str, str]]:
    return [
        (e.data["type"], e.data["reason"])
        for e in run.events
        if e.kind == "notification_suppressed" and e.key == key
    ]


def state_events(run: Run, key: CheckKey = HTTPS) -> list[tuple[int, StateType, int, bool]]:
    return [
        (e.state, e.state_type, e.attempt, e.data["hard_change"])
        for e in run.events
        if e.kind == "state" and e.key == key
    ]


def test_service_keeps_its_retries_while_its_host_is_only_soft_down() -> None:
    run = Run(build_plan(svc=SVC))
    run.result(WWW, OK, 0)
    run.result(HTTPS, OK, 0)
    run.result(WWW, CRIT, 1)
    assert run.state(WWW) == (DOWN, SOFT, 1)
    run.result(HTTPS, CRIT, 1.5)
    assert run.state() == (CRIT, SOFT, 1)  # before the fix: HARD 3 at once
    assert run.engine.next_check_interval(HTTPS) == 30.0
    run.result(WWW, CRIT, 2)
    run.result(HTTPS, CRIT, 2.5)
    assert run.state(WWW) == (DOWN, SOFT, 2)
    assert run.state() == (CRIT, SOFT, 2)
    assert state_events(run)[1:] == [(CRIT, SOFT, 1, False), (CRIT, SOFT, 2, False)]
    assert run.notes() == []
    assert suppressed(run) == [("PROBLEM", "soft"), ("PROBLEM", "soft")]


def test_service_goes_hard_at_its_next_failing_result_once_its_host_is_hard_down() -> None:
    run = Run(build_plan(svc=SVC))
    run.result(WWW, OK, 0)
    run.result(HTTPS, OK, 0)
    run.result(WWW, CRIT, 1)
    run.result(WWW, CRIT, 2)
    run.result(HTTPS, CRIT, 2.5)
    assert run.state() == (CRIT, SOFT, 1)
    run.result(WWW, CRIT, 3)
    assert run.state(WWW) == (DOWN, HARD, 3)
    assert run.note_types(WWW) == ["PROBLEM"]
    assert run.state() == (CRIT, SOFT, 1)  # the host's result does not touch the service
    run.result(HTTPS, CRIT, 3.5)
    assert run.state() == (CRIT, HARD, 3)  # attempt 2 of 3, but the host is HARD down
    assert state_events(run)[-1] == (CRIT, HARD, 3, True)
    assert run.engine.next_check_interval(HTTPS) == 300.0
    assert run.note_types(HTTPS) == []
    assert suppressed(run)[-1] == ("PROBLEM", "host_down")


def test_service_goes_hard_at_once_while_its_host_is_hard_unreachable() -> None:
    plan = build_plan(
        svc=SVC, hosts={"router": (), "www": ("router",)}, host=host_policy(max_check_attempts=1)
    )
    run = Run(plan)
    run.result(HTTPS, OK, 0)
    run.result(CheckKey("router"), CRIT, 1)
    run.result(WWW, CRIT, 2)
    assert run.state(WWW) == (UNREACHABLE, HARD, 1)
    run.result(HTTPS, CRIT, 3)
    assert run.state() == (CRIT, HARD, 3)
    assert run.note_types(HTTPS) == []
    assert suppressed(run)[-1] == ("PROBLEM", "host_down")


def test_service_recovers_softly_while_its_host_blips() -> None:
    run = Run(build_plan(svc=SVC))
    run.result(WWW, OK, 0)
    run.result(HTTPS, OK, 0)
    run.result(WWW, CRIT, 1)
    run.result(HTTPS, CRIT, 1.5)
    out = run.result(HTTPS, OK, 2)
    assert run.state(WWW) == (DOWN, SOFT, 1)
    assert run.state() == (OK, HARD, 1)
    [event] = [e for e in out.events if e.kind == "state"]
    assert (event.state_type, event.attempt, event.data["soft_recovery"]) == (SOFT, 2, True)
    assert suppressed(run)[-1] == ("RECOVERY", "soft")
    run.result(WWW, OK, 2.5)
    assert run.notes() == []


def test_service_continues_its_own_retries_after_the_host_recovers() -> None:
    """The attempt keeps counting across the host's recovery (Nagios resets it to 1)."""
    run = Run(build_plan(svc=SVC))
    run.result(WWW, OK, 0)
    run.result(HTTPS, OK, 0)
    run.result(WWW, CRIT, 1)
    run.result(HTTPS, CRIT, 1.5)
    run.result(WWW, OK, 2)  # a soft recovery of the host
    assert run.state(WWW) == (OK, HARD, 1)
    assert run.note_types(WWW) == []
    run.result(HTTPS, CRIT, 2.5)
    assert run.state() == (CRIT, SOFT, 2)
    assert run.note_types(HTTPS) == []
    run.result(HTTPS, CRIT, 3)
    assert run.state() == (CRIT, HARD, 3)
    assert [(e.data["type"], e.data["number"]) for e in run.notes()] == [("PROBLEM", 1)]


def test_service_hard_by_its_own_retries_under_a_soft_down_host_waits_for_the_host() -> None:
    """M=2 service under an M=5 host: HARD by its own count; its PROBLEM waits (host_down) and
    goes out at the service's first result after the host is UP again."""
    run = Run(build_plan(svc=policy(max_check_attempts=2), host=host_policy(max_check_attempts=5)))
    run.result(WWW, OK, 0)
    run.result(HTTPS, OK, 0)
    run.result(WWW, CRIT, 1)
    run.result(HTTPS, CRIT, 1.5)
    run.result(HTTPS, CRIT, 2.5)
    assert run.state(WWW) == (DOWN, SOFT, 1)
    assert run.state() == (CRIT, HARD, 2)
    assert run.note_types(HTTPS) == []
    assert suppressed(run)[-1] == ("PROBLEM", "host_down")
    run.result(WWW, OK, 3)
    run.advance(run.now + 600)  # no tick sends it: its last result was taken under the blip
    assert run.note_types(HTTPS) == []
    run.result(HTTPS, CRIT, 14)
    assert run.note_types(HTTPS) == ["PROBLEM"]


# --- one incident, one mail (docs/semantics.md §5) ---------------------------------------------

ROUTER = CheckKey("router")
PRINTER = CheckKey("printer")
TONER = CheckKey("printer", "toner")


def office(**svc: object) -> Run:
    plan = build_plan(
        svc=policy(max_check_attempts=1, **svc),
        hosts={"router": (), "printer": ("router",)},
        host=host_policy(max_check_attempts=2),
        services=[("printer", "toner")],
    )
    return Run(plan)


def at(run: Run, minute: float, *results: tuple[CheckKey, int]) -> None:
    for key, status in results:
        run.result(key, status, minute)


def test_unreachable_host_never_mails_on_its_own_the_parent_does() -> None:
    run = office()
    at(run, 0, (ROUTER, OK), (PRINTER, OK), (TONER, OK))
    at(run, 1, (ROUTER, CRIT), (PRINTER, CRIT))
    at(run, 2, (PRINTER, CRIT))
    assert run.state(PRINTER) == (UNREACHABLE, HARD, 2)  # before the router is HARD
    at(run, 3, (ROUTER, CRIT))
    assert run.state(ROUTER) == (DOWN, HARD, 2)
    at(run, 4, (TONER, CRIT))  # "no SNMP answer": the host problem, not a toner mail
    run.advance(run.now + 3600)
    assert [(e.key, e.data["type"]) for e in run.notes()] == [(ROUTER, "PROBLEM")]
    assert ("PROBLEM", "unreachable") in suppressed(run, PRINTER)
    assert suppressed(run, TONER)[-1] == ("PROBLEM", "host_down")
    # the router comes back; the printer and its toner are re-checked: no mail of theirs
    at(run, 90, (ROUTER, OK), (PRINTER, OK), (TONER, OK))
    run.advance(run.now + 3600)
    assert [(e.key, e.data["type"]) for e in run.notes()] == [
        (ROUTER, "PROBLEM"),
        (ROUTER, "RECOVERY"),
    ]


def test_unreachable_child_still_down_after_the_parent_is_back_mails_as_down() -> None:
    run = office()
    at(run, 0, (ROUTER, OK), (PRINTER, OK))
    at(run, 1, (ROUTER, CRIT), (PRINTER, CRIT))
    at(run, 2, (ROUTER, CRIT), (PRINTER, CRIT))
    assert run.state(PRINTER) == (UNREACHABLE, HARD, 2)
    at(run, 5, (ROUTER, OK))
    run.advance(run.now + 600)  # the stale UNREACHABLE waits for the printer's re-check
    assert run.note_types(PRINTER) == []
    at(run, 20, (PRINTER, CRIT))
    assert run.state(PRINTER) == (DOWN, HARD, 2)
    assert run.note_types(PRINTER) == ["PROBLEM"]


def test_back_to_the_state_already_mailed_after_an_outage_is_not_mailed_again() -> None:
    """The toner was mailed at 15 %; the printer went unreachable ("no SNMP answer", never
    mailed); after the outage the toner reads 15 % again: the same problem, no second mail.
    Reminders keep the first mail's schedule."""
    run = office(notification_interval=86_400.0)
    at(run, 0, (ROUTER, OK), (PRINTER, OK), (TONER, OK))
    at(run, 1, (TONER, WARN))
    assert run.note_types(TONER) == ["PROBLEM"]
    at(run, 10, (ROUTER, CRIT))
    at(run, 11, (ROUTER, CRIT), (PRINTER, CRIT), (TONER, CRIT))
    assert run.state(TONER) == (CRIT, HARD, 1)
    at(run, 20, (ROUTER, OK), (PRINTER, OK), (TONER, WARN))
    run.advance(run.now + 3600)
    assert run.note_types(TONER) == ["PROBLEM"]
    run.advance(minutes(1) + 86_400 + 1)
    assert run.note_types(TONER) == ["PROBLEM", "PROBLEM"]  # the daily reminder, on time
