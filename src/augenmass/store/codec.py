"""Turn model values into row dicts and back; make hostile text safe to store.

Plugin output may hold NUL bytes, lone surrogates (undecodable bytes) or megabytes of text.
PostgreSQL rejects NUL in TEXT and both drivers reject unencodable strings, and one bad row
would fail the whole batch, so every text column goes through `clean_text`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from augenmass.model import (
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

OUTPUT_CAP = 65536  # characters kept of result output / long output (semantics.md: >= 64 KiB)
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


def dump_json(value: Any) -> str:
    # ensure_ascii keeps NUL and lone surrogates as \u escapes: always storable, exact on load.
    return json.dumps(to_jsonable(value), ensure_ascii=True, separators=(",", ":"))


def key_cols(key: CheckKey) -> tuple[str, str]:
    return clean_text(key.host, 1024), clean_text(key.service or "", 1024)


def key_of(host: str, service: str) -> CheckKey:
    return CheckKey(host, service or None)


def state_row(state: CheckState) -> dict[str, Any]:
    host, service = key_cols(state.key)
    return {
        "host": host,
        "service": service,
        "state": state.state,
        "state_type": state.state_type.value,
        "checked": state.checked,
        "acknowledged": state.acknowledgement is not None,
        "flapping": state.is_flapping,
        "last_check": clean_float(state.last_check),
        "last_state_change": clean_float(state.last_state_change),
        "output": clean_text(state.output, SUMMARY_CAP),
        "data": dump_json(state),
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
        "data": json.dumps(to_jsonable(ev.data), ensure_ascii=True, separators=(",", ":")),
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


def result_row(res: CheckResult, slot: int, seq: int) -> dict[str, Any]:
    host, service = key_cols(res.key)
    return {
        "host": host,
        "service": service,
        "slot": slot,
        "seq": seq,
        "status": res.status,
        "output": clean_text(res.output),
        "long_output": clean_text(res.long_output),
        "perfdata": dump_json(res.perfdata),
        "started_at": clean_float(res.started_at),
        "duration": clean_float(res.duration),
        "source": clean_text(res.source, 256),
        "passive": res.passive,
        "truncated": res.truncated,
        "notes": dump_json(res.notes),
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
