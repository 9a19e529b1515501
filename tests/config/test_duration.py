from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augenmass.core.duration import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("2w", 1209600.0),
        ("250ms", 0.25),
        ("1.5m", 90.0),
        (45, 45.0),
        (2.5, 2.5),
        ("90", 90.0),
        (" 5m ", 300.0),
    ],
)
def test_valid_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "5 minutes",
        "",
        "m",
        "5x",
        "-5s",
        "1h-30m",
        -1,
        True,
        None,
        [5],
        "nan",
        "inf",
        "5m5",
        10**400,
    ],
)
def test_invalid_durations(value: object) -> None:
    with pytest.raises(DurationError, match="invalid duration"):
        parse_duration(value)


@given(st.integers(min_value=0, max_value=10**9))
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_duration_error(text: str) -> None:
    try:
        assert parse_duration(text) >= 0
    except DurationError:
        pass
