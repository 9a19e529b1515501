"""Durations written by humans: ``30s``, ``5m``, ``1h30m``, ``2d`` or a plain number of seconds."""

from __future__ import annotations

import functools
import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_MAX_TEXT = 64  # longer strings are never a sensible duration; refuse before the regex runs


class DurationError(ValueError):
    pass


def parse_duration(value: object) -> float:
    """Seconds as float. Raises DurationError with a message meant for the config author."""
    if isinstance(value, bool):  # bool is an int subclass; `true` is never a duration
        raise DurationError(f"invalid duration {value!r}: use e.g. 30s, 5m, 1h, 1d or seconds")
    if isinstance(value, int | float):
        try:
            return _checked(float(value), value)
        except OverflowError:  # an int of hundreds of digits
            raise DurationError(f"invalid duration {str(value)[:12]}...: far too long") from None
    if not isinstance(value, str):
        raise DurationError(f"invalid duration {value!r}: use e.g. 30s, 5m, 1h, 1d or seconds")
    return _parse_text(value)


# A config says `5m` thousands of times (every service inherits its template's keys).
@functools.lru_cache(maxsize=1024)
def _parse_text(value: str) -> float:
    text = value.strip()
    if not text or len(text) > _MAX_TEXT:
        raise DurationError(f"invalid duration {value!r}: use e.g. 30s, 5m, 1h, 1d or seconds")
    try:
        return _checked(float(text), value)
    except ValueError:
        pass
    total, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise DurationError(f"invalid duration {value!r}: use e.g. 30s, 5m, 1h, 1h30m, 1d")
    return _checked(total, value)


def _checked(seconds: float, original: object) -> float:
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise DurationError(f"invalid duration {original!r}: must be a finite number >= 0")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest unit form that reads back to the same value (e.g. 5400 -> '1h30m')."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def format_age(seconds: float) -> str:
    """3d 4h, 2h 5m, 4m 10s: two units are enough to judge how long a state has lasted."""
    if not math.isfinite(seconds):
        return "?"
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"
