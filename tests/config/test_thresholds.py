from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augenmass.core.thresholds import Range, RangeError, evaluate, parse_range


@pytest.mark.parametrize(
    ("text", "value", "alerts"),
    [
        ("10", 10.0, False),
        ("10", 10.0001, True),
        ("10", 0.0, False),
        ("10", -0.0001, True),  # the surprise: -w 10 alerts on negative values
        ("10:", 10.0, False),
        ("10:", 9.999, True),
        ("~:10", -1e9, False),
        ("~:10", 10.5, True),
        ("10:20", 10.0, False),
        ("10:20", 20.0, False),
        ("10:20", 20.01, True),
        ("10:20", 9.99, True),
        ("@10:20", 10.0, True),
        ("@10:20", 20.0, True),
        ("@10:20", 9.99, False),
        ("@10:20", 20.01, False),
        ("-5:-1", -3.0, False),
        ("1.5:2.5", 2.6, True),
    ],
)
def test_range_boundaries(text: str, value: float, alerts: bool) -> None:
    assert parse_range(text).alerts(value) is alerts


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10:5", "(start > end)"),
        ("abc", "is not a number"),
        ("1,5", "is not a number"),
        ("", ""),
        ("@", "is not a number"),
        ("~:", "(no bound on either side)"),
        ("@~:", "(no bound on either side)"),
        ("10:~", "is not a number"),
    ],
)
def test_bad_ranges_have_clear_messages(text: str, reason: str) -> None:
    with pytest.raises(RangeError) as info:
        parse_range(text)
    assert str(info.value).startswith(f"Range format incorrect: {text!r}")
    assert reason in str(info.value)


def test_numbers_from_yaml_are_accepted() -> None:
    assert parse_range(10) == Range(0.0, 10.0)
    assert parse_range("10:") == Range(10.0, math.inf)
    assert parse_range("~:10") == Range(-math.inf, 10.0)


def test_evaluate_tests_critical_first() -> None:
    warn, crit = parse_range("10"), parse_range("20")
    assert evaluate(5.0, warn, crit) == 0
    assert evaluate(15.0, warn, crit) == 1
    assert evaluate(25.0, warn, crit) == 2
    assert evaluate(25.0, None, None) == 0
    assert evaluate(-1.0, warn, crit) == 2  # negative alerts on both; critical wins


finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(finite, finite, st.booleans(), st.booleans(), st.booleans())
def test_str_round_trips(
    a: float, b: float, inside: bool, open_start: bool, open_end: bool
) -> None:
    start, end = min(a, b), max(a, b)
    if open_start and open_end:
        open_end = False
    rng = Range(-math.inf if open_start else start, math.inf if open_end else end, inside)
    assert parse_range(str(rng)) == rng


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_range_error(text: str) -> None:
    try:
        rng = parse_range(text)
    except RangeError:
        return
    assert rng.start <= rng.end
