"""Perfdata grammar: table-driven cases and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from augenmass.core.perfdata import MAX_ITEMS, format_perfdata, parse_perfdata
from augenmass.core.values import PerfDatum

P = PerfDatum


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a=1", [P("a", 1.0)]),
        ("a=1;;;0", [P("a", 1.0, min=0.0)]),
        ("time=0.0123s;1;2;0;10", [P("time", 0.0123, "s", "1", "2", 0.0, 10.0)]),
        ("'a b'=1;;;", [P("a b", 1.0)]),
        ("'it''s'=5%", [P("it's", 5.0, "%")]),
        ("''''=1", [P("'", 1.0)]),
        ("rx=123c tx=1.5e3B", [P("rx", 123.0, "c"), P("tx", 1500.0, "B")]),
        ("mem=2KiB;@10:20;~:30", [P("mem", 2.0, "KiB", "@10:20", "~:30")]),
        ("t=-1.5ms u=.5us v=5.", [P("t", -1.5, "ms"), P("u", 0.5, "us"), P("v", 5.0)]),
        ("x=U;1;2", [P("x", None, "", "1", "2")]),
        ("temp=21.5C power=3W", [P("temp", 21.5, "C"), P("power", 3.0, "W")]),
        ("  a=1   b=2  ", [P("a", 1.0), P("b", 2.0)]),
        ("/=120MB;200;300;0;400", [P("/", 120.0, "MB", "200", "300", 0.0, 400.0)]),
        ("", []),
    ],
)
def test_valid(text: str, items: list[PerfDatum]) -> None:
    assert parse_perfdata(text) == (tuple(items), [])


@pytest.mark.parametrize(
    ("text", "kept", "problem"),
    [
        ("x=1,5 ok=1", ["ok"], "bad unit ',5'"),
        ("= ok=1", ["ok"], "empty label"),
        ("x=NaN ok=1", ["ok"], "value is not a number"),
        ("x=inf", [], "value is not a number"),
        ("x=1e309 ok=1", ["ok"], "value out of range"),
        ("x=1;;;0;1e400", [], "max out of range"),
        ("x=1;;;abc", [], "min is not a number"),
        ("x=", [], "empty value"),
        ("x=1;2;3;4;5;6", [], "more than 5 fields"),
        ("noequals ok=1", ["ok"], "no '='"),
        ("'unterminated=1 ok=1", ["ok"], "unterminated quote"),
        ("a=1 a=2", ["a"], "repeated"),
        ("x=5 apples", ["x"], "no '='"),
    ],
)
def test_malformed_items_are_skipped_and_reported(text: str, kept: list[str], problem: str) -> None:
    items, problems = parse_perfdata(text)
    assert [i.label for i in items] == kept
    assert len(problems) == 1 and problem in problems[0]


def test_too_many_items() -> None:
    items, problems = parse_perfdata(" ".join(f"m{i}=1" for i in range(500)))
    assert len(items) == MAX_ITEMS
    assert problems == [
        f"perfdata: {500 - MAX_ITEMS} items beyond the limit of {MAX_ITEMS} skipped"
    ]


def test_problem_list_is_bounded() -> None:
    _, problems = parse_perfdata(" ".join(f"m{i}=x" for i in range(1000)))
    assert len(problems) == 21


def test_format() -> None:
    items = [P("a b", 1.0), P("time", 0.5, "s", "1", "2", 0.0), P("x", None), P("big", 1e20)]
    assert format_perfdata(items) == "'a b'=1 time=0.5s;1;2;0 x=U big=100000000000000000000"


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    items, problems = parse_perfdata(text)
    assert all(isinstance(i, PerfDatum) for i in items)
    assert all(isinstance(p, str) for p in problems)


_finite = st.floats(allow_nan=False, allow_infinity=False)
_label = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30
)
_range = st.none() | st.from_regex(r"@?(~|-?[0-9]{1,4})?:?-?[0-9]{1,4}", fullmatch=True)
_datum = st.builds(
    PerfDatum,
    label=_label,
    value=st.none() | _finite,
    uom=st.sampled_from(["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "KiB", "c", "C"]),
    warn=_range,
    crit=_range,
    min=st.none() | _finite,
    max=st.none() | _finite,
)


@given(st.lists(_datum, max_size=8, unique_by=lambda d: d.label))
def test_format_parse_round_trip(items: list[PerfDatum]) -> None:
    items = [
        i if i.value is not None else PerfDatum(i.label, None, "", i.warn, i.crit, i.min, i.max)
        for i in items
    ]
    parsed, problems = parse_perfdata(format_perfdata(items))
    assert problems == []
    assert list(parsed) == items
    assert all(p.value is None or math.isfinite(p.value) for p in parsed)


def test_short_texts_of_every_result_are_one_object() -> None:
    """Each check keeps its last result: its labels, units and ranges are shared, not copied."""
    one, _ = parse_perfdata("".join(["time=0.1s;1;2 ", "size=10B"]))
    two, _ = parse_perfdata("".join(["time=0.2s;1;2 ", "size=12B"]))
    for a, b in zip(one, two, strict=True):
        assert a.label is b.label and a.uom is b.uom and a.warn is b.warn and a.crit is b.crit
    long = "x" * 100
    first, _ = parse_perfdata(f"{long}=1")
    again, _ = parse_perfdata(f"{long}=2")
    assert first[0].label == again[0].label and first[0].label is not again[0].label
