"""Nagios / monitoring-plugins threshold ranges: ``[@]start:end`` (docs/semantics.md §1).

``10`` alerts outside 0..10, ``10:`` below 10, ``~:10`` above 10, ``10:20`` outside 10..20 and
``@10:20`` inside 10..20. Endpoints are inclusive in both modes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MAX_TEXT = 100


class RangeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Range:
    start: float = 0.0  # -inf for '~'
    end: float = math.inf  # +inf for a trailing ':'
    inside: bool = False  # '@': alert when the value lies inside start..end

    def alerts(self, value: float) -> bool:
        """True when `value` should raise WARNING/CRITICAL for this range."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        prefix = "@" if self.inside else ""
        start = "~" if self.start == -math.inf else _fmt(self.start)
        end = "" if self.end == math.inf else _fmt(self.end)
        if start == "0" and end and not self.inside:
            return end
        return f"{prefix}{start}:{end}"


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _number(text: str, original: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise RangeError(f"Range format incorrect: {original!r} ({text!r} is not a number)")
    value = float(text)
    if math.isinf(value):
        raise RangeError(f"Range format incorrect: {original!r} (number out of range)")
    return value


def parse_range(text: str | int | float) -> Range:
    """Parse a range; int/float are accepted as their text (YAML may give `warning: 10`)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise RangeError(f"Range format incorrect: {text!r} (expected text like '10', '10:20')")
    original = text if isinstance(text, str) else repr(text)
    body = original.strip()
    if not body or len(body) > _MAX_TEXT:
        raise RangeError(f"Range format incorrect: {original!r}")
    inside = body.startswith("@")
    if inside:
        body = body[1:]
    if ":" not in body:
        return _checked(Range(0.0, _number(body, original), inside), original)
    start_text, end_text = body.split(":", 1)
    start = -math.inf if start_text == "~" else _number(start_text, original) if start_text else 0.0
    end = math.inf if end_text == "" else _number(end_text, original)
    return _checked(Range(start, end, inside), original)


def _checked(rng: Range, original: str) -> Range:
    if rng.start > rng.end:
        raise RangeError(f"Range format incorrect: {original!r} (start > end)")
    if rng.start == -math.inf and rng.end == math.inf:
        # '~:' never alerts and '@~:' always does: certainly a typo, not a threshold
        raise RangeError(f"Range format incorrect: {original!r} (no bound on either side)")
    return rng


def evaluate(value: float, warning: Range | None, critical: Range | None) -> int:
    """0 OK, 1 WARNING, 2 CRITICAL; critical is tested first, like the plugins' get_status."""
    if critical is not None and critical.alerts(value):
        return 2
    if warning is not None and warning.alerts(value):
        return 1
    return 0
