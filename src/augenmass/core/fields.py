"""Reusable validated field types for the config models (durations, states, names, ranges)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from augenmass.core.duration import format_duration, parse_duration
from augenmass.core.secrets import BIDI_CONTROLS
from augenmass.core.thresholds import parse_range

STATE_NAMES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_NAME_BAD = re.compile(r"[/\s]")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
MAX_NAME = 255


def _duration(value: Any) -> float:
    return parse_duration(value)


def _state(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in STATE_NAMES:
        return STATE_NAMES[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return value
    raise ValueError(f"invalid state {value!r}: use ok, warning, critical, unknown or 0..3")


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("name must not be empty")
    if len(value) > MAX_NAME:
        raise ValueError(f"name longer than {MAX_NAME} characters")
    if _CONTROL.search(value):
        raise ValueError("name must not contain control characters or line breaks")
    _no_bidi(value)
    return value


def _no_bidi(value: str) -> str:
    # names are identifiers and shown text: a bidi control makes "abc" display as "cba" and
    # one name pass for another, so it is refused (free text such as comments is stripped)
    if _BIDI.search(value) is None:  # the usual case, without a Python loop over the text
        return value
    found = sorted({f"U+{ord(ch):04X}" for ch in value if ch in BIDI_CONTROLS})
    if found:
        raise ValueError(
            f"must not contain bidi control characters ({', '.join(found)}): they change how "
            "the text is displayed"
        )
    return value


def check_host_name(value: str) -> str:
    _name(value)
    if _HOST_NAME_BAD.search(value):
        raise ValueError(f"invalid host name {value!r}: no '/' and no whitespace allowed")
    return value


def _scalar_text(value: Any) -> Any:
    # vars are macro values: numbers and booleans are fine, written as YAML gives them
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def threshold_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"invalid threshold {value!r}: use range text like '10', '10:', '@5:9'")
    parse_range(value)  # raises RangeError (a ValueError) with the plugin-style message
    return value if isinstance(value, str) else str(value)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(
            "must be longer than 0 s (to stop active checks, set active_checks: false)"
        )
    return value


@dataclass(frozen=True, slots=True)
class AtMost:
    """The upper bound of a duration field (an after-validator; the reference shows it)."""

    seconds: float

    def __call__(self, value: float) -> float:
        if value > self.seconds:
            shown = format_duration(value) if value < 1e9 else f"{value:g} s"
            raise ValueError(
                f"{shown} is longer than the limit of {format_duration(self.seconds)} "
                f"({self.seconds:,.0f} s)"
            )
        return value


HOUR = 3600.0
DAY = 24 * HOUR

# Every duration of the config has an upper bound, chosen per kind: beyond it a value is a typo
# or a unit mix-up (`check_interval: 1e29` was accepted and the check never ran), and nothing
# downstream (due times, timers, retention cut-offs) ever meets an absurd number. Not a number,
# infinite and negative are refused by parse_duration. A new duration field takes one of these.
MAX_TIMEOUT = HOUR  # a check's or a delivery's time limit
MAX_INTERVAL = DAY  # how often a check runs (or retries): less than daily is not monitoring
MAX_DELAY = DAY  # waits before acting: first notification, grouping, the start-up spread
MAX_REPEAT = 30 * DAY  # re-notification and escalation times
MAX_FRESHNESS = 90 * DAY  # passive results of a job that runs monthly, with room to spare
MAX_RETENTION = 20 * 365 * DAY  # how long stored data is kept

Timeout = Annotated[float, BeforeValidator(_duration), AfterValidator(AtMost(MAX_TIMEOUT))]
PositiveTimeout = Annotated[
    float,
    BeforeValidator(_duration),
    AfterValidator(_positive),
    AfterValidator(AtMost(MAX_TIMEOUT)),
]
# Intervals that drive the scheduler: 0 would mean "run constantly".
Interval = Annotated[
    float,
    BeforeValidator(_duration),
    AfterValidator(_positive),
    AfterValidator(AtMost(MAX_INTERVAL)),
]
Delay = Annotated[float, BeforeValidator(_duration), AfterValidator(AtMost(MAX_DELAY))]
Repeat = Annotated[float, BeforeValidator(_duration), AfterValidator(AtMost(MAX_REPEAT))]
Freshness = Annotated[
    float,
    BeforeValidator(_duration),
    AfterValidator(_positive),
    AfterValidator(AtMost(MAX_FRESHNESS)),
]
KeepFor = Annotated[float, BeforeValidator(_duration), AfterValidator(AtMost(MAX_RETENTION))]
State = Annotated[int, BeforeValidator(_state)]
Name = Annotated[str, AfterValidator(_name)]
HostName = Annotated[str, AfterValidator(check_host_name)]
Text = Annotated[str, BeforeValidator(_scalar_text)]
# shown text of the config (display names, public names): no bidi controls either
ShownText = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_no_bidi)]
Threshold = Annotated[str, BeforeValidator(threshold_text)]
NameList = Annotated[list[Name], BeforeValidator(_one_or_many)]
