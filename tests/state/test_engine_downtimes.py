"""Downtimes: fixed, flexible, nesting, host downtimes, cancel, held notifications."""

from __future__ import annotations

import pytest
from state_helpers import HTTPS, WWW, Run, build_plan, minutes, policy

from augenmass.core.values import CheckKey, Downtime
from augenmass.state import Engine

OK, CRIT = 0, 2


def dt(
    dt_id: str = "d1", key: CheckKey = HTTPS, start: float = 10, end: float = 40, **kw: object
) -> Downtime:
    return Downtime(id=dt_id, key=key, start=minutes(start), end=minutes(end), **kw)  # type: ignore[arg-type]


def m1_run(**kw: object) -> Run:
    return Run(build_plan(svc=policy(max_check_attempts=1, notification_interval=600, **kw)))


def schedule(run: Run, downtime: Downtime) -> None:
    run._keep(run.engine.schedule_downtime(downtime, run.now))


def test_fixed_downtime_starts_and_ends_on_time_and_is_persisted() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    out = run.engine.schedule_downtime(dt(), minutes(0))
    assert [d.id for d in out.downtimes_set] == ["d1"]
    run._keep(out)
    run.advance(minutes(10))
    assert run.engine.downtimes["d1"].started_at == minutes(10)
    assert run.engine.state(HTTPS).downtime_depth == 1
    run.advance(minutes(50))
    assert "d1" not in run.engine.downtimes
    starts = [(e.kind, e.at) for e in run.events if e.kind.startswith("downtime_")]
    assert starts == [
        ("downtime_scheduled", minutes(0)),
        ("downtime_start", minutes(10)),
        ("downtime_end", minutes(40)),
    ]
    assert run.note_types() == ["DOWNTIMESTART", "DOWNTIMEEND"]


def test_tick_outcome_lists_started_and_removed_downtimes() -> None:
    eng = Engine(build_plan())
    eng.schedule_downtime(dt(), minutes(0))
    started = eng.tick(minutes(10))
    assert [(d.id, d.started_at) for d in started.downtimes_set] == [("d1", minutes(10))]
    ended = eng.tick(minutes(40))
    assert ended.downtimes_removed == ["d1"]


def test_nested_downtimes_notify_start_and_end_once() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    schedule(run, dt("a", start=10, end=30))
    schedule(run, dt("b", start=20, end=50))
    run.advance(minutes(25))
    assert run.engine.state(HTTPS).downtime_depth == 2
    run.advance(minutes(60))
    assert [(e.data["type"], e.at) for e in run.notes()] == [
        ("DOWNTIMESTART", minutes(10)),
        ("DOWNTIMEEND", minutes(50)),
    ]


def test_flexible_downtime_waits_for_a_problem_and_lasts_its_duration() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    schedule(run, dt(start=10, end=40, fixed=False, duration=1800))
    run.result(HTTPS, OK, 15)
    assert run.engine.downtimes["d1"].started_at is None
    run.result(HTTPS, CRIT, 35)
    assert run.engine.downtimes["d1"].started_at == minutes(35)
    assert "PROBLEM" not in run.note_types()
    run.results(HTTPS, [CRIT] * 30, start=36)  # ends at 35 + 30 min, after the window's end
    ends = [e.at for e in run.events if e.kind == "downtime_end"]
    assert ends == [minutes(65)]
    assert ("PROBLEM", minutes(65)) in [(e.data["type"], e.at) for e in run.notes()]


def test_flexible_downtime_never_triggered_expires_silently() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    schedule(run, dt(start=10, end=40, fixed=False, duration=600))
    run.advance(minutes(45))
    assert run.engine.downtimes == {}
    end = [e for e in run.events if e.kind == "downtime_end"]
    assert [e.data["started"] for e in end] == [False]
    assert run.notes() == []


def test_flexible_downtime_starts_for_an_object_already_in_problem() -> None:
    run = m1_run()
    run.result(HTTPS, CRIT, 0)
    schedule(run, dt(start=10, end=40, fixed=False, duration=600))
    run.advance(minutes(11))
    assert run.engine.downtimes["d1"].started_at == minutes(10)


def test_host_downtime_suppresses_its_services_notifications() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    schedule(run, dt(key=WWW, start=0, end=30))
    run.result(HTTPS, CRIT, 5)
    assert "PROBLEM" not in run.note_types(HTTPS)
    assert run.engine.state(HTTPS).downtime_depth == 0  # the host is in downtime, not it
    run.advance(minutes(31))
    assert [(e.data["type"], e.at) for e in run.notes(HTTPS)] == [("PROBLEM", minutes(30))]


def test_all_services_adds_one_downtime_per_service() -> None:
    run = Run(build_plan(services=[("www", "https"), ("www", "ssh")]))
    out = run.engine.schedule_downtime(dt(key=WWW, all_services=True), minutes(0))
    assert sorted(d.id for d in out.downtimes_set) == ["d1", "d1/https", "d1/ssh"]
    run.advance(minutes(15))
    assert run.engine.state(CheckKey("www", "ssh")).downtime_depth == 1


def test_cancel_active_downtime_sends_downtimecancelled() -> None:
    run = m1_run()
    run.result(HTTPS, OK, 0)
    schedule(run, dt())
    run.advance(minutes(15))
    out = run._keep(run.engine.remove_downtime("d1", minutes(15)))
    assert out.downtimes_removed == ["d1"]
    assert run.note_types() == ["DOWNTIMESTART", "DOWNTIMECANCELLED"]
    assert run.engine.state(HTTPS).downtime_depth == 0


def test_cancel_pending_downtime_sends_no_notification() -> None:
    run = m1_run()
    schedule(run, dt())
    out = run._keep(run.engine.remove_downtime("d1", minutes(1)))
    assert [e.kind for e in out.events] == ["downtime_cancelled"]
    assert run.notes() == []
    assert run.engine.remove_downtime("d1", minutes(2)).reason == "no downtime with id 'd1'"


def test_cancelling_downtime_releases_held_problem() -> None:
    run = m1_run()
    schedule(run, dt(start=0, end=60))
    run.result(HTTPS, CRIT, 5)
    run._keep(run.engine.remove_downtime("d1", minutes(6)))
    assert run.note_types()[-2:] == ["DOWNTIMECANCELLED", "PROBLEM"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dt(start=10, end=10), "end must be after its start"),
        (dt(fixed=False), "needs a positive duration"),
        (dt(start=0, end=1), "already ended"),
        (dt(dt_id=""), "needs an id"),
    ],
)
def test_malformed_downtime_is_rejected(bad: Downtime, message: str) -> None:
    eng = Engine(build_plan())
    with pytest.raises(ValueError, match=message):
        eng.schedule_downtime(bad, minutes(5))
    assert eng.downtimes == {}


def test_duplicate_downtime_id_is_rejected() -> None:
    eng = Engine(build_plan())
    eng.schedule_downtime(dt(), minutes(0))
    with pytest.raises(ValueError, match="already exists"):
        eng.schedule_downtime(dt(), minutes(0))


def test_downtime_on_unknown_key_is_ignored() -> None:
    eng = Engine(build_plan())
    out = eng.schedule_downtime(dt(key=CheckKey("nope")), minutes(0))
    assert out.empty and out.reason == "nope is not in the configuration"


def test_restored_engine_keeps_active_downtime() -> None:
    first = Engine(build_plan())
    first.schedule_downtime(dt(), minutes(0))
    first.tick(minutes(12))
    second = Engine(build_plan(), first.states, first.downtimes.values())
    out = second.tick(minutes(40))
    assert [e.kind for e in out.events][:1] == ["downtime_end"]
    assert out.downtimes_removed == ["d1"]


def test_reload_drops_downtimes_of_removed_keys() -> None:
    eng = Engine(build_plan(services=[("www", "https"), ("www", "ssh")]))
    eng.schedule_downtime(dt(key=CheckKey("www", "ssh")), minutes(0))
    out = eng.reload(build_plan())
    assert out.downtimes_removed == ["d1"] and eng.downtimes == {}
