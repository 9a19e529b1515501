"""The probe worker protocol: length-prefixed JSON frames over the worker's stdin and stdout.

JSON, not pickle: a worker talks to hostile targets all day, and what it sends back must not be
able to run code in the server. The server checks every field of a result before using it.

  job    [id, kind, options, timeout, timeout_state]
  result [id, status, output, long_output, [[label, value, uom, warn, crit, min, max], ...], notes]
  error  [id, null, text]      the probe raised; the server reports an internal error
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from augenmass.core.values import PerfDatum
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
            try:
                frames.append(json.loads(bytes(buf[pos + 4 : pos + 4 + size])))
            except ValueError as exc:
                raise WireError(f"frame is not JSON: {exc}") from None
            pos += 4 + size
        del buf[:pos]
        return frames


def job_frame(
    job_id: int, kind: str, options: Mapping[str, Any], timeout: float, timeout_state: int
) -> bytes:
    """Raises TypeError/ValueError when the options are not plain JSON data."""
    return frame([job_id, kind, dict(options), timeout, timeout_state])


def result_frame(job_id: int, got: ProbeOutcome) -> bytes:
    perf = [
        [p.label, p.value, p.uom, p.warn, p.crit, p.min, p.max]
        for p in got.perfdata
        if isinstance(p, PerfDatum)
    ]
    return frame([job_id, got.status, got.output, got.long_output, perf, list(got.notes)])


def error_frame(job_id: int, text: str) -> bytes:
    return frame([job_id, None, text])


def parse_job(item: Any) -> tuple[int, str, dict[str, Any], float, int]:
    if not (isinstance(item, list) and len(item) == 5):
        raise WireError("job is not a list of five")
    job_id, kind, options, timeout, timeout_state = item
    if not isinstance(job_id, int) or not isinstance(kind, str) or not isinstance(options, dict):
        raise WireError("job id, kind or options have the wrong type")
    if not _number(timeout) or not isinstance(timeout_state, int):
        raise WireError("job timeout or timeout state have the wrong type")
    return job_id, kind, options, float(timeout), timeout_state


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
    if not (isinstance(item, list) and len(item) == 7):
        raise WireError("perfdata item is not a list of seven")
    label, value, uom, warn, crit, low, high = item
    if not isinstance(label, str) or not isinstance(uom, str):
        raise WireError("perfdata label or unit is not text")
    if not all(v is None or isinstance(v, str) for v in (warn, crit)):
        raise WireError("perfdata range is not text")
    if not all(v is None or _number(v) for v in (value, low, high)):
        raise WireError("perfdata value is not a number")
    return PerfDatum(label, _float(value), uom, warn, crit, _float(low), _float(high))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
