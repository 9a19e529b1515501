"""`augenmass simulate`: replay a JSONL script of results and commands through the engine.

Input: one JSON object per line (blank lines and lines starting with '#' are skipped).
A result: {"at", "host", "service"?, "state", "output"?, "long_output"?, "passive"?}, where
state is a name (OK/WARNING/CRITICAL/UNKNOWN, UP/DOWN/UNREACHABLE) or a code 0..3; a host's
code is mapped by the engine (0 → UP, else DOWN or UNREACHABLE by its parents).
Actions: {"at", "action": "acknowledge" | "remove_acknowledgement" | "downtime" |
"remove_downtime" | "tick", ...}. Times are ISO 8601 (no zone = UTC) or epoch seconds.

Time between lines: the engine is ticked at every moment it reports as due (downtime start
and end, ack expiry, reminders, first-notification delay, a notification period opening) up
to the line's time, then at the line's time itself. So time-driven events carry their exact
time, not the time of the next line. Lines must not go back in time.

Output: one dict per engine event: at (ISO 8601 UTC, "Z"), event (kind), host, service (None
for a host), state (name), state_type, attempt, output, and the event's data fields. And one
"message" row per message delivery would send: contact, channel, subject and the checks it
covers (grouping, problem+recovery merging and host-down roll-up included).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from augenmass.core.plan import Plan
from augenmass.core.values import (
    Acknowledgement,
    CheckKey,
    CheckResult,
    Downtime,
    Event,
    state_name,
)
from augenmass.state import Engine, Outcome

if TYPE_CHECKING:
    from augenmass.notify.simulated import MessagePlanner

MAX_TICKS_PER_GAP = 100_000  # bounds the catch-up loop between two lines

STATE_CODES = {
    "OK": 0,
    "WARNING": 1,
    "CRITICAL": 2,
    "UNKNOWN": 3,
    "UP": 0,
    "DOWN": 2,  # a host check's WARNING (1) would be UP
    "UNREACHABLE": 2,  # the engine decides UNREACHABLE from the parents
}
RESULT_KEYS = {"at", "host", "service", "state", "output", "long_output", "passive"}
ACTION_KEYS = {
    "acknowledge": {"host", "service", "sticky", "notify", "author", "comment", "expires"},
    "remove_acknowledgement": {"host", "service"},
    "downtime": {
        "host",
        "service",
        "start",
        "end",
        "fixed",
        "duration",
        "id",
        "all_services",
        "author",
        "comment",
    },
    "remove_downtime": {"id"},
    "tick": set(),
}
TIME_FIELDS = ("start", "end", "expires_at")


class SimulationError(Exception):
    """A bad input line; the CLI reports it and exits 2."""

    def __init__(self, line_no: int, message: str) -> None:
        self.line_no = line_no
        self.message = message
        super().__init__(f"line {line_no}: {message}")


class _Bad(Exception):
    """A problem inside one line; turned into SimulationError with the line number."""


def run_simulation(plan: Plan, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    from augenmass.notify.simulated import MessagePlanner

    engine = Engine(plan)
    planner = MessagePlanner(plan)  # "message" rows: what delivery would send, grouped
    last: float | None = None
    for line_no, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            record = _parse_line(text)
            at = _time(record.get("at"), "at")
            if last is not None and at < last:
                raise _Bad("'at' goes back in time")
            yield from _advance(engine, last, at, planner)
            yield from planner.until(at, before=True)
            last = at
            outcome = _apply(engine, record, at, line_no)
        except _Bad as exc:
            raise SimulationError(line_no, str(exc)) from None
        if outcome.reason is not None:
            yield {"at": _iso(at), "event": "ignored", "reason": outcome.reason}
        yield from _rows(outcome, planner)
        yield from planner.until(at)
    yield from planner.until(None)


def write_simulation(plan: Plan, lines: Iterable[str], out: TextIO) -> int:
    """CLI helper: write one JSON line per event; returns how many were written.
    Raises SimulationError (after writing the events before the bad line)."""
    count = 0
    for row in run_simulation(plan, lines):
        out.write(json.dumps(row, sort_keys=False) + "\n")
        count += 1
    return count


def _advance(
    engine: Engine, last: float | None, at: float, planner: MessagePlanner
) -> Iterator[dict[str, Any]]:
    now = last if last is not None else at
    for _ in range(MAX_TICKS_PER_GAP):
        due = engine.next_due(now)
        if due is None or due >= at:
            break
        now = due
        yield from planner.until(now, before=True)
        yield from _rows(engine.tick(now), planner)
    yield from planner.until(at, before=True)
    yield from _rows(engine.tick(at), planner)


def _parse_line(text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict):
        raise _Bad("each line must be a JSON object")
    return record


def _apply(engine: Engine, record: Mapping[str, Any], at: float, line_no: int) -> Outcome:
    action = record.get("action")
    if action is None:
        return engine.ingest(_result(engine, record, at), at)
    if not isinstance(action, str) or action not in ACTION_KEYS:
        raise _Bad(f"unknown action {action!r}; expected one of {', '.join(ACTION_KEYS)}")
    _check_keys(record, ACTION_KEYS[action] | {"at", "action"})
    if action == "tick":
        return Outcome()
    if action == "remove_downtime":
        return engine.remove_downtime(_str(record, "id"), at)
    key = _key(engine, record)
    if action == "acknowledge":
        return engine.acknowledge(key, _ack(record, at), at)
    if action == "remove_acknowledgement":
        return engine.remove_acknowledgement(key, at)
    try:
        return engine.schedule_downtime(_downtime(record, key, line_no), at)
    except ValueError as exc:
        raise _Bad(str(exc)) from None


def _result(engine: Engine, record: Mapping[str, Any], at: float) -> CheckResult:
    _check_keys(record, RESULT_KEYS)
    key = _key(engine, record)
    passive = record.get("passive", False)
    if not isinstance(passive, bool):
        raise _Bad("'passive' must be true or false")
    return CheckResult(
        key=key,
        status=_status(record.get("state")),
        output=_str(record, "output", ""),
        long_output=_str(record, "long_output", ""),
        started_at=at,
        source="passive" if passive else "simulate",
        passive=passive,
    )


def _status(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Bad("'state' must be a state name or a code 0..3")
    if isinstance(raw, int) and 0 <= raw <= 3:
        return raw
    if isinstance(raw, str) and raw.upper() in STATE_CODES:
        return STATE_CODES[raw.upper()]
    raise _Bad(f"'state' must be a state name ({', '.join(STATE_CODES)}) or 0..3, not {raw!r}")


def _key(engine: Engine, record: Mapping[str, Any]) -> CheckKey:
    host = _str(record, "host")
    service = record.get("service")
    if service is not None and not isinstance(service, str):
        raise _Bad("'service' must be a string")
    key = CheckKey(host, service)
    try:
        engine.state(key)
    except KeyError:
        raise _Bad(f"{key} is not in the configuration") from None
    return key


def _ack(record: Mapping[str, Any], at: float) -> Acknowledgement:
    expires = record.get("expires")
    return Acknowledgement(
        author=_str(record, "author", "simulate"),
        comment=_str(record, "comment", ""),
        at=at,
        sticky=_bool(record, "sticky", False),
        notify=_bool(record, "notify", False),
        expires_at=None if expires is None else _time(expires, "expires"),
    )


def _downtime(record: Mapping[str, Any], key: CheckKey, line_no: int) -> Downtime:
    duration = record.get("duration", 0)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise _Bad("'duration' must be a number of seconds")
    start = _time(record.get("start"), "start")
    end = _time(record.get("end"), "end")
    fixed = _bool(record, "fixed", True)
    return Downtime(
        id=_str(record, "id", f"line{line_no}"),
        key=key,
        start=start,
        end=end,
        fixed=fixed,
        duration=float(duration) if duration else (0.0 if not fixed else end - start),
        author=_str(record, "author", "simulate"),
        comment=_str(record, "comment", ""),
        all_services=_bool(record, "all_services", False),
    )


def _check_keys(record: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise _Bad(f"unknown field(s): {', '.join(unknown)}")


def _str(record: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = record.get(name, default)
    if not isinstance(value, str):
        raise _Bad(f"'{name}' is required and must be a string")
    return value


def _bool(record: Mapping[str, Any], name: str, default: bool) -> bool:
    value = record.get(name, default)
    if not isinstance(value, bool):
        raise _Bad(f"'{name}' must be true or false")
    return value


def _time(raw: Any, name: str) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if not isinstance(raw, str):
        raise _Bad(f"'{name}' is required: an ISO 8601 time or epoch seconds")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad(f"'{name}' is not an ISO 8601 time: {raw!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    text = moment.isoformat(timespec="milliseconds" if ts % 1 else "seconds")
    return text.replace("+00:00", "Z")


def _rows(outcome: Outcome, planner: MessagePlanner | None = None) -> Iterator[dict[str, Any]]:
    if planner is not None:
        planner.add(list(outcome.events))
    for event in outcome.events:
        yield _row(event)


def _row(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "at": _iso(event.at),
        "event": event.kind,
        "host": event.key.host,
        "service": event.key.service,
        "state": state_name(event.state, event.key.is_host),
        "state_type": event.state_type.value,
        "attempt": event.attempt,
        "output": event.output,
    }
    for name, value in event.data.items():
        if name in TIME_FIELDS and isinstance(value, int | float):
            value = _iso(value)
        row.setdefault(name, value)
    return row
