"""Nagios performance data: ``'label'=value[UOM];[warn];[crit];[min];[max]`` (docs/semantics.md §1).

Parsing is forgiving in what it skips and strict in what it keeps: a malformed item is dropped and
described in the returned problems (they end up in CheckResult.notes); it never raises, because
the state of a check comes from its exit code, not from its perfdata.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal

from augenmass.core.values import PerfDatum, shared_text

MAX_ITEMS = 256  # more than any sane plugin emits; bounds storage per result
MAX_LABEL = 200
MAX_PROBLEMS = 20  # one line per skipped item at most this often, then a summary

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE = re.compile(rf"({_NUMBER})(.*)", re.DOTALL)
_NUMBER_ONLY = re.compile(_NUMBER)
# None, s ms us %, B KB.. KiB.., c, and other units (C, Ohm, Wh, B/s, ...): letters only, short.
_UOM = re.compile(r"[A-Za-z%°µ/]{0,16}")
_SPACE = " \t\n\r"
_NEEDS_QUOTES = re.compile(r"[\s'=;|]")


class _Skip(Exception):
    """One item is malformed; carries the reason."""


def parse_perfdata(text: str) -> tuple[tuple[PerfDatum, ...], list[str]]:
    """Parse a perfdata string into items, and a list of problems for what was skipped."""
    items: list[PerfDatum] = []
    problems: list[str] = []
    seen: set[str] = set()
    over_limit = 0
    pos = 0
    while True:
        pos = _skip_space(text, pos)
        if pos >= len(text):
            break
        start = pos
        try:
            datum, pos = _parse_item(text, pos)
        except _Skip as skip:
            pos = _next_space(text, start + 1)
            _problem(problems, f"perfdata item {_snippet(text[start:pos])} skipped: {skip}")
            continue
        if datum.label in seen:
            _problem(problems, f"perfdata label {datum.label!r} repeated; later item skipped")
        elif len(items) >= MAX_ITEMS:
            over_limit += 1
        else:
            seen.add(datum.label)
            items.append(datum)
    if over_limit:
        problems.append(f"perfdata: {over_limit} items beyond the limit of {MAX_ITEMS} skipped")
    return tuple(items), problems


def format_perfdata(items: Iterable[PerfDatum]) -> str:
    """The perfdata string for `items`; parse_perfdata(format_perfdata(x)) gives x back."""
    return " ".join(_format_item(d) for d in items)


def _format_item(d: PerfDatum) -> str:
    label = d.label
    if _NEEDS_QUOTES.search(label) or not label:
        label = "'" + label.replace("'", "''") + "'"
    value = "U" if d.value is None else _fmt(d.value)
    fields = [
        value + d.uom,
        d.warn or "",
        d.crit or "",
        "" if d.min is None else _fmt(d.min),
        "" if d.max is None else _fmt(d.max),
    ]
    while len(fields) > 1 and not fields[-1]:
        fields.pop()
    return f"{label}={';'.join(fields)}"


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    # Positional, never "6.6e-05": the perfdata grammar (and many graphers) know only [-0-9.].
    # Decimal(repr(x)) is the shortest exact decimal, so parsing it gives x back.
    return format(Decimal(repr(x)), "f")


def _problem(problems: list[str], message: str) -> None:
    if len(problems) < MAX_PROBLEMS:
        problems.append(message)
    elif len(problems) == MAX_PROBLEMS:
        problems.append("perfdata: more problems not listed")


def _snippet(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _next_space(text: str, pos: int) -> int:
    """Where to resume after a bad item: the next whitespace."""
    while pos < len(text) and text[pos] not in _SPACE:
        pos += 1
    return pos


def _parse_item(text: str, pos: int) -> tuple[PerfDatum, int]:
    label, pos = _parse_label(text, pos)
    end = pos
    while end < len(text) and text[end] not in _SPACE:
        end += 1
    return _parse_fields(label, text[pos:end]), end


def _parse_label(text: str, pos: int) -> tuple[str, int]:
    """Returns the label and the position just after its '='."""
    if text[pos] == "'":
        label, pos = _quoted(text, pos + 1)
    else:
        end = pos
        while end < len(text) and text[end] not in _SPACE and text[end] != "=":
            end += 1
        label, pos = text[pos:end], end
    if pos >= len(text) or text[pos] != "=":
        raise _Skip("no '=' after the label")
    if not label:
        raise _Skip("empty label")
    if len(label) > MAX_LABEL:
        raise _Skip(f"label longer than {MAX_LABEL} characters")
    return label, pos + 1


def _quoted(text: str, pos: int) -> tuple[str, int]:
    parts: list[str] = []
    while True:
        close = text.find("'", pos)
        if close < 0:
            raise _Skip("unterminated quote in label")
        parts.append(text[pos:close])
        if text.startswith("''", close):
            parts.append("'")
            pos = close + 2
            continue
        return "".join(parts), close + 1


def _parse_fields(label: str, raw: str) -> PerfDatum:
    fields = raw.split(";")
    if len(fields) > 5:
        raise _Skip("more than 5 fields")
    fields += [""] * (5 - len(fields))
    value, uom = _parse_value(fields[0])
    return PerfDatum(
        label=shared_text(label),
        value=value,
        uom=shared_text(uom),
        warn=shared_text(fields[1]) if fields[1] else None,
        crit=shared_text(fields[2]) if fields[2] else None,
        min=_parse_bound(fields[3], "min"),
        max=_parse_bound(fields[4], "max"),
    )


def _parse_value(raw: str) -> tuple[float | None, str]:
    if raw == "U":
        return None, ""
    match = _VALUE.fullmatch(raw)
    if match is None:
        raise _Skip("value is not a number" if raw else "empty value")
    uom = match.group(2)
    if not _UOM.fullmatch(uom):
        raise _Skip(f"bad unit {uom[:20]!r}")
    return _finite(match.group(1), "value"), uom


def _parse_bound(raw: str, what: str) -> float | None:
    if not raw:
        return None
    if not _NUMBER_ONLY.fullmatch(raw):
        raise _Skip(f"{what} is not a number")
    return _finite(raw, what)


def _finite(raw: str, what: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise _Skip(f"{what} out of range")
    return value
