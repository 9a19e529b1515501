"""The state's JSON column: the fast encoder writes what model.to_jsonable describes, exactly."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckState,
    PerfDatum,
    StateType,
    Status,
    from_jsonable,
    to_jsonable,
)
from augenmass.store import Store, WriteBatch
from augenmass.store.codec import PerfTexts, perfdata_json, state_doc, state_json

from .helpers import WEB, ack

# Every field set away from its default: a field added to CheckState but not to the encoder
# makes the first test fail.
FULL = CheckState(
    key=WEB,
    state=Status.CRITICAL,
    state_type=StateType.SOFT,
    attempt=2,
    checked=True,
    last_check=1_700_000_000.25,
    last_state_change=1.5,
    last_hard_state_change=2.5,
    last_hard_state=1,
    problem_since=0.5,
    output="CRITICAL",
    long_output="a\nb",
    perfdata=(PerfDatum("time", 0.1, "s", "1", "2", 0.0, 10.0), PerfDatum("u", None)),
    notification_number=3,
    last_notification=4.5,
    next_notification=5.5,
    notified_on=frozenset({2, 1}),
    state_history=(0, 2, 2),
    is_flapping=True,
    percent_state_change=12.5,
    acknowledgement=Acknowledgement("ops", "on it", 6.0, True, True, True, 7.0),
    host_problem_at_last_check=True,
    ok_streak=1,
    extra={"x": [1, "y"]},
    no_more_notifications=True,
    downtime_depth=2,
    held_notifications=("ACKNOWLEDGEMENT",),
)


def test_every_field_differs_from_its_default() -> None:
    for f in dataclasses.fields(CheckState):
        if f.name != "key":
            assert getattr(FULL, f.name) != getattr(CheckState(WEB), f.name), f.name


def test_state_doc_is_to_jsonable() -> None:
    assert state_doc(FULL) == to_jsonable(FULL)
    assert state_doc(CheckState(WEB)) == to_jsonable(CheckState(WEB))


def _same(a: Any, b: Any) -> bool:
    """Equality that counts NaN equal to NaN (a state holding one is still stored exactly)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _reference(state: CheckState) -> str:
    """What the store wrote before the fast encoder: the stdlib over to_jsonable."""
    return json.dumps(to_jsonable(state), ensure_ascii=True, separators=(",", ":"))


texts = st.text(max_size=12) | st.sampled_from(["a\x00b", "x\udcffy", "ünï 🚀", "\u2028", 'q"\\'])
floats = st.floats() | st.sampled_from([0.0, 1_700_000_000.123456, 1e16, 1e-5, -0.0])
perfdata = st.builds(
    PerfDatum,
    label=texts,
    value=st.none() | floats,
    uom=texts,
    warn=st.none() | texts,
    min=st.none() | floats,
    max=st.none() | floats,
)
acks = st.builds(
    Acknowledgement,
    author=texts,
    comment=texts,
    at=floats,
    sticky=st.booleans(),
    expires_at=st.none() | floats,
)
states = st.builds(
    CheckState,
    key=st.just(WEB),
    state=st.integers(0, 3) | st.sampled_from(list(Status)),
    state_type=st.sampled_from(list(StateType)),
    attempt=st.integers(1, 10),
    checked=st.booleans(),
    last_check=floats,
    last_state_change=floats,
    problem_since=floats,
    next_notification=floats,
    output=texts,
    long_output=texts,
    perfdata=st.lists(perfdata, max_size=3).map(tuple),
    notification_number=st.integers(0, 2**70),
    notified_on=st.frozensets(st.integers(0, 3)),
    state_history=st.lists(st.integers(0, 3), max_size=21).map(tuple),
    percent_state_change=floats,
    acknowledgement=st.none() | acks,
    extra=st.just({}) | st.dictionaries(texts, st.integers() | floats | texts, max_size=2),
    held_notifications=st.lists(texts, max_size=2).map(tuple),
)


@settings(max_examples=400, deadline=None)
@given(state=states)
def test_state_json_holds_the_same_values_as_the_stdlib_wrote(state: CheckState) -> None:
    text = state_json(state)
    assert text.isascii()  # storable in any database encoding, as before
    assert _same(json.loads(text), json.loads(_reference(state)))
    got = from_jsonable(CheckState, json.loads(text))
    assert _same(to_jsonable(got), to_jsonable(state))


@settings(max_examples=400, deadline=None)
@given(state=states)
def test_a_state_written_with_its_results_perfdata_text_is_the_same(state: CheckState) -> None:
    """The store encodes a result's perfdata once and puts that text into its state's JSON."""
    texts: PerfTexts = {}
    perfdata_json(state.perfdata, texts)
    text = state_json(state, texts)
    assert text.isascii()
    assert _same(json.loads(text), json.loads(_reference(state)))
    assert _same(to_jsonable(from_jsonable(CheckState, json.loads(text))), to_jsonable(state))


@settings(max_examples=200, deadline=None)
@given(items=st.lists(perfdata, max_size=4).map(tuple))
def test_perfdata_json_holds_the_same_values_as_the_stdlib_wrote(
    items: tuple[PerfDatum, ...],
) -> None:
    ref = json.dumps(to_jsonable(items), ensure_ascii=True, separators=(",", ":"))
    text = perfdata_json(items)
    assert text.isascii()
    assert _same(json.loads(text), json.loads(ref))


def test_common_states_are_written_exactly_as_before() -> None:
    plain = dataclasses.replace(FULL, extra={})
    assert state_json(plain) == _reference(plain)
    assert state_json(CheckState(WEB)) == _reference(CheckState(WEB))


async def test_states_round_trip_through_the_store_unchanged(store: Store) -> None:
    keys = [CheckKey(f"h{i}", "svc") for i in range(6)]
    states = [
        dataclasses.replace(FULL, key=keys[0]),
        dataclasses.replace(FULL, key=keys[1], extra={}, output="grüße 🚀"),
        dataclasses.replace(FULL, key=keys[2], extra={}, output="bad \udcff byte"),
        dataclasses.replace(FULL, key=keys[3], extra={}, last_check=float("inf")),
        CheckState(keys[4], checked=True, last_check=1000.0, acknowledgement=ack()),
        CheckState(keys[5], notification_number=2**70),
    ]
    nan_perf = dataclasses.replace(FULL, key=WEB, perfdata=(PerfDatum("x", float("nan")),))
    await store.write(WriteBatch(states=[*states, nan_perf]))
    loaded = (await store.load()).states
    assert [loaded[s.key] for s in states] == states
    assert math.isnan(loaded[WEB].perfdata[0].value or 0.0)
    assert dataclasses.replace(loaded[WEB], perfdata=()) == dataclasses.replace(
        nan_perf, perfdata=()
    )


def test_the_kept_clean_texts_stay_bounded() -> None:
    """A plugin that invents perfdata labels (long ones, new ones every run) cannot make the
    store keep them all: long texts are cleaned each time, and the kept ones start over when
    full. Cleaned the same either way."""
    from augenmass.store import codec

    long_label = "x" * 10_000 + "\x00"
    assert codec.clean_label(long_label) == codec.clean_text(long_label, 512)
    assert long_label not in codec._LABELS
    for i in range(codec._CLEANED_MAX + 10):
        codec.clean_label(f"l{i}")
    assert len(codec._LABELS) <= codec._CLEANED_MAX
    key = CheckKey("h" * 2000, "s")
    assert codec.key_cols(key) == ("h" * 1024, "s")
    assert key not in codec._KEY_COLS


def test_key_columns_are_the_ones_a_store_read_back() -> None:
    """A store keeps (host, service) tuples read back at its start; the columns of a check's
    key are those very tuples, not an equal copy per check."""
    from augenmass.store import codec

    kept = ("".join(["db", "42"]), "".join(["back", "up"]))
    codec.adopt_cols([kept])
    assert codec.key_cols(CheckKey("db42", "backup")) is kept
    assert codec.key_cols(CheckKey("db42", "backup")) is kept  # and from the cache after
    assert codec.key_cols(CheckKey("db42")) == ("db42", "")
