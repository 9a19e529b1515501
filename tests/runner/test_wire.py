"""The probe worker protocol: frames survive any split, and nothing malformed gets through."""

from __future__ import annotations

import math
from typing import Any

import pytest

from augenmass.core.values import PerfDatum
from augenmass.probes.base import ProbeOutcome
from augenmass.runner import wire


def test_frames_survive_every_split() -> None:
    got = ProbeOutcome(
        1,
        "HTTP WARNING - 404 in 0.01 s",
        "line 2\nline 3 ünïcode",
        (PerfDatum("time", 0.012, "s", "1", "2", 0.0, None), PerfDatum("size", None)),
        ("a note",),
    )
    data = wire.result_frame(7, got) + wire.error_frame(8, "RuntimeError: boom")
    data += wire.batch([wire.result(9, got), wire.error(10, "x")])  # two in one frame
    for cut in range(len(data) + 1):
        reader = wire.FrameReader()
        frames = reader.feed(data[:cut]) + reader.feed(data[cut:])
        answers = [wire.parse_result(m) for f in frames for m in wire.messages(f)]
        assert answers == [(7, got), (8, "RuntimeError: boom"), (9, got), (10, "x")]


def test_job_round_trip_and_special_floats() -> None:
    options = {"url": "http://127.0.0.1/", "status": [200]}
    ((item,),) = wire.FrameReader().feed(wire.job_frame(3, "http", options, 2.5, 2))
    assert wire.parse_job(item) == (3, "http", options, 2.5, 2)
    assert wire.parse_request(item) == ("job", (3, "http", options, 2.5, 2))
    nan = ProbeOutcome(0, "ok", perfdata=(PerfDatum("x", math.inf), PerfDatum("y", math.nan)))
    ((item,),) = wire.FrameReader().feed(wire.result_frame(1, nan))
    _, back = wire.parse_result(item)
    assert isinstance(back, ProbeOutcome)
    assert back.perfdata[0].value == math.inf and math.isnan(back.perfdata[1].value or 0.0)


def test_hostile_text_and_special_floats_come_back_as_sent() -> None:
    """Results of every kind in one frame: plain ones, one with NaN/inf limits, one with lone
    surrogates (undecodable bytes of a target) and NUL; each comes back exactly."""
    plain = ProbeOutcome(0, "OK – 200 in 0.1 s 🚀", perfdata=(PerfDatum("t", 0.1, "s", min=0.0),))
    odd = ProbeOutcome(2, "bad \udcff\x00 byte", "long \ud800", (PerfDatum("t", 1e300),))
    limits = ProbeOutcome(1, "w", perfdata=(PerfDatum("t", 1.5, min=-math.inf, max=math.inf),))
    big = ProbeOutcome(0, "big", perfdata=(PerfDatum("n", float(2**70)),), notes=("ü",))
    data = wire.batch([wire.result(i, got) for i, got in enumerate([plain, odd, limits, big])])
    (frame,) = wire.FrameReader().feed(data)
    back = [wire.parse_result(m) for m in wire.messages(frame)]
    assert back == [(0, plain), (1, odd), (2, limits), (3, big)]


def test_a_check_defined_once_then_run_by_number() -> None:
    options = {"url": "http://127.0.0.1/s/1", "headers": {"X-A": "1"}}
    frame = wire.batch(
        [wire.define(4, "http", options, 3.5, 2), wire.run(11, 4), wire.run(12, 4), wire.FORGET]
    )
    (payload,) = wire.FrameReader().feed(frame)
    assert [wire.parse_request(m) for m in wire.messages(payload)] == [
        ("define", (4, "http", options, 3.5, 2)),
        ("run", (11, 4)),
        ("run", (12, 4)),
        ("forget", None),
    ]
    assert len(wire.run(123456, 789)) < 20  # a job after the first: two numbers


def test_options_that_are_not_data_are_refused_before_sending() -> None:
    with pytest.raises(TypeError):
        wire.job_frame(1, "http", {"url": object()}, 1.0, 3)
    with pytest.raises(TypeError):
        wire.define(1, "http", {"url": object()}, 1.0, 3)


def test_oversized_or_garbage_frames_are_errors() -> None:
    with pytest.raises(wire.WireError, match="over the 100 byte limit"):
        wire.FrameReader(limit=100).feed(b"\x00\x00\x01\x00" + b"x" * 10)
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.FrameReader().feed(b"\x00\x00\x00\x03{{{")


@pytest.mark.parametrize(
    "item",
    [
        "text",
        [],
        ["1", 0, "ok", "", [], []],
        [1, True, "ok", "", [], []],  # a bool is not a status
        [1, 0, 5, "", [], []],  # output is not text
        [1, 0, "ok", "", "perf", []],
        [1, 0, "ok", "", [], [7]],
        [1, 0, "ok", "", [["t", "1", "s", None, None, None, None]], []],
        [1, 0, "ok", "", [["t", 1, "s", 2, None, None, None]], []],
        [1, 0, "ok", "", [["t", 1]], []],
        [1, 0, "ok", "", [["t", 10**400, "s", None, None, None, None]], []],
        [1, 0, "ok", "", [["t", True, "s", None, None, None, None]], []],
        [1, 0, "ok", "", [("t", 1, "s", None, None, None, None)], []],
        [1, 0, "ok"],
        [1, 0, "ok", "", [], [], "extra"],
    ],
)
def test_malformed_results_are_refused(item: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_result(item)


@pytest.mark.parametrize(
    "item", [[1, "http", {}, 1.0], [1, 2, {}, 1.0, 3], [1, "x", [], 1.0, 3], [1, "x", {}, "1", 3]]
)
def test_malformed_jobs_are_refused(item: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_job(item)
    with pytest.raises(wire.WireError):
        wire.parse_request(item)


@pytest.mark.parametrize(
    "item",
    [["o", 1, "http", {}, 1.0], ["o", "1", "http", {}, 1.0, 3], ["o", 1, "x", [], 1.0, 3],
     ["f", 1], [1, "2"], [True, 2], [1], "o", {"o": 1}],
)  # fmt: skip
def test_malformed_requests_are_refused(item: Any) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_request(item)


def test_a_frame_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(wire.WireError):
        wire.messages({"id": 1})


def test_perfdata_texts_from_a_worker_are_shared() -> None:
    got = ProbeOutcome(0, "ok", "", (PerfDatum("time", 0.1, "s", "1", "2"),), ())
    frames = [wire.FrameReader().feed(wire.result_frame(n, got)) for n in (1, 2)]
    (a,), (b,) = ([wire.parse_result(m) for f in fs for m in f] for fs in frames)
    pa, pb = a[1].perfdata[0], b[1].perfdata[0]  # type: ignore[union-attr]
    assert pa == pb and pa.label is pb.label and pa.uom is pb.uom and pa.warn is pb.warn
