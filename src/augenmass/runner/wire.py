"""The probe worker protocol: length-prefixed JSON frames over the worker's stdin and stdout.

JSON, not pickle: a worker talks to hostile targets all day, and what it sends back must not be
able to run code in the server. The server checks every field of a result before using it.

A frame is a JSON list of messages: everything one side has for the other in one pass of its
loop goes in one frame, one write. A check's options go to a worker once, under a number (a
ref); after that a job is two numbers. That keeps the hand-off cheap: no options encoded, sent,
decoded and walked again per run, and the worker's probes find the options they prepared by
identity.

server to worker:
  define [ "o", ref, kind, options, timeout, timeout_state ]   a check's options, once
  run    [ id, ref ]                                         run the check defined as `ref`
  job    [ id, kind, options, timeout, timeout_state ]       a check with its options inline
  forget [ "f" ]                                             drop every ref (the server's table
                                                             was reset)
worker to server:
  result [id, status, output, long_output, [[label, value, uom, warn, crit, min, max], ...], notes]
  error  [id, null, text]      the probe raised; the server reports an internal error
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from math import isfinite
from typing import Any

import orjson

from augenmass.core.values import PerfDatum, shared_text
from augenmass.probes.base import ProbeOutcome

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024  # output is capped far below this; larger means a broken peer


class WireError(ValueError):
    """A frame or a field that does not follow the protocol."""


def frame(payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), allow_nan=True).encode()
    return _HEADER.pack(len(data)) + data


class FrameReader:
    """Collects bytes from a pipe and returns the complete frames in them."""

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[Any]:
        buf = self._buf
        buf += data
        frames: list[Any] = []
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = _HEADER.unpack_from(buf, pos)
            if size > self._limit:
                raise WireError(f"frame of {size} bytes is over the {self._limit} byte limit")
            if len(buf) - pos - 4 < size:
                break
            frames.append(_loads(bytes(buf[pos + 4 : pos + 4 + size])))
            pos += 4 + size
        del buf[:pos]
        return frames


def _loads(data: bytes) -> Any:
    # orjson reads a frame in a third of the stdlib's time; what it refuses (NaN and ±inf,
    # which the stdlib writes for such perfdata, lone surrogates, huge integers) the stdlib
    # reads as it always did.
    try:
        return orjson.loads(data)
    except ValueError:
        pass
    try:
        return json.loads(data)
    except ValueError as exc:
        raise WireError(f"frame is not JSON: {exc}") from None


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=True)


def _finite(perf: list[list[Any]]) -> bool:
    """No NaN or ±inf among the value, min and max of result perfdata items."""
    for item in perf:
        for v in (item[1], item[5], item[6]):
            if v is not None and not isfinite(v):
                return False
    return True


def batch(messages: list[str]) -> bytes:
    """One frame of messages already encoded (`define`, `run`, `job`, `result`, ...)."""
    data = ("[" + ",".join(messages) + "]").encode()
    return _HEADER.pack(len(data)) + data


def define(ref: int, kind: str, options: Mapping[str, Any], timeout: float, state: int) -> str:
    """Raises TypeError/ValueError when the options are not plain JSON data."""
    return _dumps(["o", ref, kind, dict(options), timeout, state])


def run(job_id: int, ref: int) -> str:
    return f"[{job_id},{ref}]"


def job(
    job_id: int, kind: str, options: Mapping[str, Any], timeout: float, timeout_state: int
) -> str:
    """Raises TypeError/ValueError when the options are not plain JSON data."""
    return _dumps([job_id, kind, dict(options), timeout, timeout_state])


FORGET = '["f"]'


def job_frame(
    job_id: int, kind: str, options: Mapping[str, Any], timeout: float, timeout_state: int
) -> bytes:
    """A frame of one job with its options inline."""
    return batch([job(job_id, kind, options, timeout, timeout_state)])


def result(job_id: int, got: ProbeOutcome) -> str:
    perf = [
        [p.label, p.value, p.uom, p.warn, p.crit, p.min, p.max]
        for p in got.perfdata
        if isinstance(p, PerfDatum)
    ]
    payload = [job_id, got.status, got.output, got.long_output, perf, list(got.notes)]
    # orjson writes NaN and ±inf as null (a value lost): those results go the stdlib's way
    if _finite(perf):
        try:
            return orjson.dumps(payload).decode()
        except TypeError:  # lone surrogates in the output, or what orjson cannot encode
            pass
    return _dumps(payload)


def error(job_id: int, text: str) -> str:
    return _dumps([job_id, None, text])


def result_frame(job_id: int, got: ProbeOutcome) -> bytes:
    return batch([result(job_id, got)])


def error_frame(job_id: int, text: str) -> bytes:
    return batch([error(job_id, text)])


def messages(payload: Any) -> list[Any]:
    """The messages of one frame."""
    if not isinstance(payload, list):
        raise WireError("frame is not a list of messages")
    return payload


Job = tuple[int, str, dict[str, Any], float, int]
Define = tuple[int, str, dict[str, Any], float, int]


def parse_request(item: Any) -> tuple[str, Any]:
    """One message to a worker: ("job", Job), ("run", (id, ref)), ("define", Define) or
    ("forget", None). Raises WireError for anything malformed."""
    if isinstance(item, list) and item:
        head = item[0]
        if head == "o":
            ref, *rest = _checked(item[1:], "definition")
            if not isinstance(ref, int) or isinstance(ref, bool):
                raise WireError("definition ref is not an integer")
            return "define", (ref, *rest)
        if head == "f" and len(item) == 1:
            return "forget", None
        if len(item) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in item):
            return "run", (item[0], item[1])
    return "job", parse_job(item)


def parse_job(item: Any) -> Job:
    job_id, kind, options, timeout, timeout_state = _checked(item, "job")
    if not isinstance(job_id, int):
        raise WireError("job id has the wrong type")
    return job_id, kind, options, timeout, timeout_state


def _checked(item: Any, what: str) -> tuple[Any, str, dict[str, Any], float, int]:
    if not (isinstance(item, list) and len(item) == 5):
        raise WireError(f"{what} is not a list of five")
    first, kind, options, timeout, timeout_state = item
    if not isinstance(kind, str) or not isinstance(options, dict):
        raise WireError(f"{what} kind or options have the wrong type")
    if not _number(timeout) or not isinstance(timeout_state, int):
        raise WireError(f"{what} timeout or timeout state have the wrong type")
    return first, kind, options, float(timeout), timeout_state


def parse_result(item: Any) -> tuple[int, ProbeOutcome | str]:
    """(id, outcome) or (id, error text). Raises WireError for anything malformed."""
    if not isinstance(item, list) or not item or not isinstance(item[0], int):
        raise WireError("result has no id")
    job_id = item[0]
    if len(item) == 3 and item[1] is None and isinstance(item[2], str):
        return job_id, item[2]
    if len(item) != 6:
        raise WireError("result is not a list of six")
    _, status, output, long_output, perf, notes = item
    if not isinstance(status, int) or isinstance(status, bool):
        raise WireError("status is not an integer")
    if not isinstance(output, str) or not isinstance(long_output, str):
        raise WireError("output is not text")
    if not isinstance(perf, list) or not isinstance(notes, list):
        raise WireError("perfdata or notes are not lists")
    if not all(isinstance(n, str) for n in notes):
        raise WireError("a note is not text")
    return job_id, ProbeOutcome(
        status, output, long_output, tuple(_perf(p) for p in perf), tuple(notes)
    )


def _perf(item: Any) -> PerfDatum:
    # Exact type checks: a decoded frame holds only JSON's types, and this runs for every
    # perfdata item of every result (six per http check), so no generator or isinstance chain.
    if type(item) is not list or len(item) != 7:
        raise WireError("perfdata item is not a list of seven")
    label, value, uom, warn, crit, low, high = item
    if type(label) is not str or type(uom) is not str:
        raise WireError("perfdata label or unit is not text")
    if (warn is not None and type(warn) is not str) or (crit is not None and type(crit) is not str):
        raise WireError("perfdata range is not text")
    return PerfDatum(
        shared_text(label),
        _value(value),
        shared_text(uom),
        None if warn is None else shared_text(warn),
        None if crit is None else shared_text(crit),
        _value(low),
        _value(high),
    )


def _value(value: Any) -> float | None:
    kind = type(value)
    if kind is float or value is None:
        return value  # type: ignore[no-any-return]
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise WireError("perfdata value is out of range") from None
    raise WireError("perfdata value is not a number")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
