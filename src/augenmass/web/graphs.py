"""Performance-data graphs: which series a check has, and one series as JSON for uPlot.

The resolution comes from the store's roll-ups (`series_points(..., resolution="auto")`): raw
points for hours, 5-minute buckets for days, hourly buckets for months and years. Thresholds
come from the newest perfdata of the check and are drawn as horizontal lines.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from augenmass.core.thresholds import RangeError, parse_range
from augenmass.core.values import CheckKey, PerfDatum

if TYPE_CHECKING:
    from augenmass.control import ServerControl

RANGES = {"6h": 6 * 3600, "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "1y": 365 * 86400}
DEFAULT_RANGE = "1d"
MAX_SPAN = 3 * 365 * 86400.0  # no graph reaches back further than the hourly retention


def labels(control: ServerControl, key: CheckKey) -> list[PerfDatum]:
    """The perfdata items of the newest result, one per label (first wins)."""
    state = control.states.get(key)
    seen: dict[str, PerfDatum] = {}
    for pd in state.perfdata if state else ():
        seen.setdefault(pd.label, pd)
    return list(seen.values())


def threshold_lines(text: str | None) -> list[float]:
    """The finite, drawable ends of a range: '10' → [10], '10:20' → [10, 20], '~:5' → [5]."""
    if not text:
        return []
    try:
        rng = parse_range(text)
    except RangeError:
        return []  # a plugin's odd threshold text is no reason to lose the graph
    ends = [rng.end]
    if rng.start != 0 or rng.inside:
        ends.append(rng.start)
    return sorted({v for v in ends if math.isfinite(v)})


def window(
    range_name: str | None, since: str | None, until: str | None, now: float
) -> tuple[float, float]:
    """[since, until) from explicit epoch bounds (a zoom) or a named range ending now."""
    try:
        a = float(since) if since else None
        b = float(until) if until else None
    except ValueError:
        a = b = None
    if a is not None and b is not None and math.isfinite(a) and math.isfinite(b) and b > a:
        b = min(b, now + 3600)
        return max(a, b - MAX_SPAN), b
    span = RANGES.get(range_name or DEFAULT_RANGE, RANGES[DEFAULT_RANGE])
    return now - span, now


async def series_json(
    control: ServerControl, key: CheckKey, label: str, since: float, until: float
) -> dict[str, Any]:
    """Columns for uPlot: x (seconds), avg, min, max, plus threshold values and the unit."""
    found = await control.series(key, label, since, until, "auto")
    points = found.points
    datum = next((pd for pd in labels(control, key) if pd.label == label), None)
    return {
        "label": label,
        "uom": datum.uom if datum else "",
        "resolution": found.resolution,
        "since": since,
        "until": until,
        "x": [p[0] for p in points],
        "avg": [p[1] for p in points],
        "min": [p[2] for p in points],
        "max": [p[3] for p in points],
        "warn": threshold_lines(datum.warn if datum else None),
        "crit": threshold_lines(datum.crit if datum else None),
    }


# The http probe's phases, in the order a request goes through them (docs: "how to get faster").
PHASES = (
    ("time_dns", "DNS"),
    ("time_connect", "Connect"),
    ("time_tls", "TLS"),
    ("time_firstbyte", "First byte"),
)


def has_phases(perf: list[PerfDatum]) -> bool:
    names = {pd.label for pd in perf}
    return {"time_connect", "time_firstbyte"} <= names


async def phases_json(
    control: ServerControl, key: CheckKey, since: float, until: float
) -> dict[str, Any]:
    """The averaged phases of each point, aligned on one x (a phase a check did not have, such
    as TLS over http, is 0 there), for a stacked graph."""
    columns: dict[str, dict[float, float]] = {}
    resolution = "raw"
    for label, _name in PHASES:
        found = await control.series(key, label, since, until, "auto")
        resolution = found.resolution
        columns[label] = {p[0]: p[1] for p in found.points if p[1] is not None}
    xs = sorted(set().union(*(c.keys() for c in columns.values())))
    present = [(label, name) for label, name in PHASES if columns[label]]
    return {
        "since": since,
        "until": until,
        "resolution": resolution,
        "x": xs,
        "phases": [
            {"label": label, "name": name, "values": [columns[label].get(x, 0.0) for x in xs]}
            for label, name in present
        ],
    }
