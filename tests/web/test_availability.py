"""Availability arithmetic on plain values: percent OK, outages, downtime left out."""

from __future__ import annotations

import pytest

from augenmass.core.values import CheckKey, Event, StateType
from augenmass.web import availability as av

KEY = CheckKey("www1", "website")
H = StateType.HARD
S = StateType.SOFT


def ev(at: float, kind: str, state: int = 0, st: StateType = H, **data: object) -> Event:
    return Event(at, kind, KEY, state, st, 1, "", data)


def test_percent_and_outages() -> None:
    changes = av.hard_changes([ev(100, "state", 2), ev(130, "state", 0), ev(500, "state", 1)])
    a = av.compute(KEY, 0, 1000, 0, changes)
    assert (a.ok, a.problem) == (100 + 370, 30 + 500)
    assert a.percent == pytest.approx(47.0)
    assert [(o.start, o.duration, o.state) for o in a.outages] == [(100, 30, 2), (500, 500, 1)]


def test_soft_problems_do_not_count_but_soft_recovery_does() -> None:
    events = [ev(100, "state", 2, S), ev(110, "state", 2, H), ev(150, "state", 0, H)]
    a = av.compute(KEY, 0, 200, 0, av.hard_changes(events))
    assert a.problem == 40 and a.ok == 160


def test_downtime_is_left_out_and_splits_an_outage() -> None:
    dts = [
        ev(200, "downtime_start", downtime_id="d1"),
        ev(300, "downtime_end", downtime_id="d1"),
        ev(900, "downtime_start", downtime_id="d2"),  # still running at the end
    ]
    spans = av.downtime_intervals(dts, 0, 1000)
    assert spans == [(200, 300), (900, 1000)]
    a = av.compute(KEY, 0, 1000, 0, [(150, 2), (400, 0)], spans)
    assert a.downtime == 200
    assert a.problem == 150  # 150..200 and 300..400
    assert [(o.start, o.end) for o in a.outages] == [(150, 200), (300, 400)]
    assert a.percent == pytest.approx(100 * 650 / 800)


def test_no_data_before_the_first_state_and_never_100_by_rounding() -> None:
    a = av.compute(KEY, 0, 1000, None, [(600, 0)])
    assert a.no_data == 600 and a.percent == 100.0
    assert av.compute(KEY, 0, 1000, None, []).percent is None
    from augenmass.web.render import percent

    assert percent(99.9999) == "99.999 %"
    assert percent(100.0) == "100.000 %"


def test_adjacent_problem_states_are_one_outage_with_the_worse_state() -> None:
    a = av.compute(KEY, 0, 100, 0, [(10, 1), (20, 2), (30, 1), (40, 0)])
    assert [(o.start, o.end, o.state) for o in a.outages] == [(10, 40, 2)]


def test_combine_weights_by_time() -> None:
    one = av.compute(KEY, 0, 100, 0, [(50, 2)])
    two = av.compute(CheckKey("mail", "smtp"), 0, 100, 0, [])
    both = av.combine(None, [one, two])
    assert both.percent == pytest.approx(75.0)
    assert len(both.outages) == 1
