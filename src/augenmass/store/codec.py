"""Turn model values into row dicts and back; make hostile text safe to store.

Plugin output may hold NUL bytes, lone surrogates (undecodable bytes) or megabytes of text.
PostgreSQL rejects NUL in TEXT and both drivers reject unencodable strings, and one bad row
would fail the whole batch, so every text column goes through `clean_text`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from math import isfinite
from typing import Any

import orjson

from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    CheckState,
    Downtime,
    Event,
    PerfDatum,
    StateType,
    from_jsonable,
    to_jsonable,
)

OUTPUT_CAP = 65536  # characters kept of result output / long output (docs/semantics.md §1)
SUMMARY_CAP = 1024  # characters of the output kept in plain state/event columns


def clean_text(text: str, cap: int = OUTPUT_CAP) -> str:
    """Storable text: at most `cap` characters, no NUL, valid UTF-8."""
    if len(text) > cap:
        text = text[:cap]
    if text.isascii():
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "\ufffd")


def clean_float(value: float) -> float:
    """NaN/inf would turn into NULL (SQLite) and fail a NOT NULL column."""
    return value if math.isfinite(value) else 0.0


# The JSON text of a state is written for every stored result, so it is built fast, with the
# same text (or, for floats, the same values) as before:
# - state_doc() is model.to_jsonable(state) written out field by field: the generic walk over
#   the type (is_dataclass, isinstance chains, a call per value) cost more than encoding;
#   a test compares the two, so a field added to the model cannot be missed;
# - orjson encodes it at a tenth of the stdlib's cost. The stdlib stays the reference and
#   takes over wherever orjson would write something else: NaN and ±inf (orjson writes null,
#   the stdlib NaN/Infinity, which load back), text beyond ASCII (ensure_ascii keeps the
#   column pure ASCII, storable in any database encoding), lone surrogates and huge ints
#   (orjson refuses them; \u escapes keep them exact on load).
_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))  # built once, not per call


def _dumps(doc: Any, finite: bool = False) -> str:
    """JSON text of a JSON-safe document; `finite`: the caller checked it holds no NaN/±inf."""
    if finite:
        try:
            raw = orjson.dumps(doc)
        except TypeError:
            pass
        else:
            if raw.isascii():
                return raw.decode("ascii")
    return _JSON.encode(doc)


def dump_json(value: Any) -> str:
    return _dumps(to_jsonable(value))


def _perf_doc(p: PerfDatum) -> dict[str, Any]:
    return {
        "label": p.label,
        "value": p.value,
        "uom": p.uom,
        "warn": p.warn,
        "crit": p.crit,
        "min": p.min,
        "max": p.max,
    }


def _perf_finite(perfdata: tuple[PerfDatum, ...]) -> bool:
    try:
        return all(
            (p.value is None or isfinite(p.value))
            and (p.min is None or isfinite(p.min))
            and (p.max is None or isfinite(p.max))
            for p in perfdata
        )
    except TypeError:  # not a number where one belongs: leave it to the stdlib
        return False


def _ack_doc(a: Acknowledgement) -> dict[str, Any]:
    return {
        "author": a.author,
        "comment": a.comment,
        "at": a.at,
        "sticky": a.sticky,
        "notify": a.notify,
        "persistent": a.persistent,
        "expires_at": a.expires_at,
    }


def state_doc(s: CheckState, perf: bool = True) -> dict[str, Any]:
    """model.to_jsonable(s), without the generic walk (`perf=False`: perfdata left empty)."""
    ack = s.acknowledgement
    return {
        "key": str(s.key),
        "state": s.state,
        "state_type": s.state_type.value,
        "attempt": s.attempt,
        "checked": s.checked,
        "last_check": s.last_check,
        "last_state_change": s.last_state_change,
        "last_hard_state_change": s.last_hard_state_change,
        "last_hard_state": s.last_hard_state,
        "problem_since": s.problem_since,
        "output": s.output,
        "long_output": s.long_output,
        "perfdata": [_perf_doc(p) for p in s.perfdata] if perf else [],
        "notification_number": s.notification_number,
        "last_notification": s.last_notification,
        "next_notification": s.next_notification,
        "notified_on": sorted(s.notified_on),
        "state_history": list(s.state_history),
        "is_flapping": s.is_flapping,
        "percent_state_change": s.percent_state_change,
        "acknowledgement": None if ack is None else _ack_doc(ack),
        "host_problem_at_last_check": s.host_problem_at_last_check,
        "ok_streak": s.ok_streak,
        "extra": to_jsonable(s.extra) if s.extra else {},
        "no_more_notifications": s.no_more_notifications,
        "downtime_depth": s.downtime_depth,
        "held_notifications": list(s.held_notifications),
    }


def state_json(s: CheckState, perf_texts: PerfTexts | None = None) -> str:
    """The `data` column: the whole state, exact on load (model.from_jsonable).

    `perf_texts`: the JSON of perfdata tuples encoded already (the result rows of the same
    batch carry the same tuple as their state), put in as it is instead of encoded again."""
    ack = s.acknowledgement
    try:
        # finite only if every term is (a sum that overflowed goes to the stdlib: still right)
        times = (
            s.last_check
            + s.last_state_change
            + s.last_hard_state_change
            + s.problem_since
            + s.last_notification
            + s.next_notification
            + s.percent_state_change
        )
        if ack is not None:
            times += ack.at + (ack.expires_at or 0.0)
        finite = isfinite(times)
    except TypeError:  # not a number where one belongs: leave it to the stdlib
        finite = False
    # `extra` is engine-private and free-form: the stdlib checks all of it
    known = perf_texts.get(id(s.perfdata)) if perf_texts and s.perfdata else None
    if known is not None and known[0] is s.perfdata and known[2] and finite and not s.extra:
        # the result row's text of this very tuple, finite: orjson's, put in as it is
        doc = state_doc(s, perf=False)
        doc["perfdata"] = orjson.Fragment(known[1])
        try:
            raw = orjson.dumps(doc)
        except TypeError:  # lone surrogates elsewhere in the state
            raw = b"\x80"
        if raw.isascii():
            return raw.decode("ascii")
        doc["perfdata"] = [_perf_doc(p) for p in s.perfdata]  # the stdlib takes it all
        return _JSON.encode(doc)
    finite = finite and not s.extra and (not s.perfdata or _perf_finite(s.perfdata))
    return _dumps(state_doc(s), finite)


# id(perfdata tuple) -> (the tuple, its JSON, finite): a batch's perfdata encoded once
PerfTexts = dict[int, tuple[tuple[PerfDatum, ...], str, bool]]


def perfdata_json(perfdata: tuple[PerfDatum, ...], texts: PerfTexts | None = None) -> str:
    """`texts`: where to note the text for the state row of the same result."""
    if not perfdata:
        return "[]"
    finite = _perf_finite(perfdata)
    text = _dumps([_perf_doc(p) for p in perfdata], finite)
    if texts is not None:
        texts[id(perfdata)] = (perfdata, text, finite)
    return text


# A stored result cleans its key three times (state, result and perfdata rows) and each of its
# perfdata labels once: the same few strings every run, so the cleaned text is kept. Bounded
# in count (a plugin or a passive sender may invent names: full, it starts over) and in size
# (longer texts are cleaned every time, never kept).
_CLEANED_MAX = 1 << 17
_KEPT_CHARS = 256
_KEY_COLS: dict[CheckKey, tuple[str, str]] = {}
_LABELS: dict[str, str] = {}


# (host, service) tuples a store read back at its start and keeps (its sequence numbers, its
# series): key_cols hands out these, not an equal copy each. Taken out as they are handed out.
_PRIMED: dict[tuple[str, str], tuple[str, str]] = {}


def adopt_cols(cols: Iterable[tuple[str, str]]) -> None:
    for c in cols:
        if len(_PRIMED) >= _CLEANED_MAX:
            break
        _PRIMED[c] = c


def key_cols(key: CheckKey) -> tuple[str, str]:
    cols = _KEY_COLS.get(key)
    if cols is None:
        cols = (clean_text(key.host, 1024), clean_text(key.service or "", 1024))
        if _PRIMED:
            cols = _PRIMED.pop(cols, cols)
        if len(key.host) + len(key.service or "") <= _KEPT_CHARS:
            if len(_KEY_COLS) >= _CLEANED_MAX:
                _KEY_COLS.clear()
            _KEY_COLS[key] = cols
    return cols


def clean_label(label: str) -> str:
    """A perfdata label as stored (`clean_text(label, 512)`)."""
    cleaned = _LABELS.get(label)
    if cleaned is None:
        cleaned = clean_text(label, 512)
        if len(label) <= _KEPT_CHARS:
            if len(_LABELS) >= _CLEANED_MAX:
                _LABELS.clear()
            _LABELS[label] = cleaned
    return cleaned


def key_of(host: str, service: str) -> CheckKey:
    return CheckKey(host, service or None)


# Rows go to the driver as they are (Store runs plain DBAPI executemany): booleans are real
# bools, numbers are int/float and text is clean str, as SQLAlchemy's bind processing would
# have made them.


def state_row(state: CheckState, perf_texts: PerfTexts | None = None) -> dict[str, Any]:
    host, service = key_cols(state.key)
    return {
        "host": host,
        "service": service,
        "state": state.state,
        "state_type": state.state_type.value,
        "checked": bool(state.checked),
        "acknowledged": state.acknowledgement is not None,
        "flapping": bool(state.is_flapping),
        "last_check": clean_float(state.last_check),
        "last_state_change": clean_float(state.last_state_change),
        "output": clean_text(state.output, SUMMARY_CAP),
        "data": state_json(state, perf_texts),
    }


def state_from(data: str) -> CheckState:
    return from_jsonable(CheckState, json.loads(data))


def downtime_row(dt: Downtime) -> dict[str, Any]:
    host, service = key_cols(dt.key)
    return {
        "id": clean_text(dt.id, 1024),
        "host": host,
        "service": service,
        "start": clean_float(dt.start),
        "end": clean_float(dt.end),
        "data": dump_json(dt),
    }


def downtime_from(data: str) -> Downtime:
    return from_jsonable(Downtime, json.loads(data))


def event_row(ev: Event) -> dict[str, Any]:
    host, service = key_cols(ev.key)
    return {
        "at": clean_float(ev.at),
        "host": host,
        "service": service,
        "kind": clean_text(ev.kind, 64),
        "state": ev.state,
        "state_type": ev.state_type.value,
        "attempt": ev.attempt,
        "output": clean_text(ev.output),
        "data": dump_json(ev.data),
    }


def event_from(row: Any) -> Event:
    return Event(
        at=row.at,
        kind=row.kind,
        key=key_of(row.host, row.service),
        state=row.state,
        state_type=StateType(row.state_type),
        attempt=row.attempt,
        output=row.output,
        data=json.loads(row.data),
    )


def result_row(
    res: CheckResult, slot: int, seq: int, perf_texts: PerfTexts | None = None
) -> dict[str, Any]:
    host, service = key_cols(res.key)
    return {
        "host": host,
        "service": service,
        "slot": slot,
        "seq": seq,
        "status": res.status,
        "output": clean_text(res.output),
        "long_output": clean_text(res.long_output),
        "perfdata": perfdata_json(res.perfdata, perf_texts),
        "started_at": clean_float(res.started_at),
        "duration": clean_float(res.duration),
        "source": clean_text(res.source, 256),
        "passive": bool(res.passive),
        "truncated": bool(res.truncated),
        "notes": _dumps(list(res.notes), finite=True) if res.notes else "[]",
    }


def result_from(row: Any) -> CheckResult:
    return CheckResult(
        key=key_of(row.host, row.service),
        status=row.status,
        output=row.output,
        long_output=row.long_output,
        perfdata=tuple(from_jsonable(PerfDatum, p) for p in json.loads(row.perfdata)),
        started_at=row.started_at,
        duration=row.duration,
        source=row.source,
        passive=bool(row.passive),
        truncated=bool(row.truncated),
        notes=tuple(json.loads(row.notes)),
    )
