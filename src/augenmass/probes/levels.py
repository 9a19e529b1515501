"""Threshold pairs for the local, mailqueue and icmp probes: parse a warning/critical pair of
range texts once, evaluate values against it, and put the same ranges into the perfdata.

Options arrive as strings (validated at config load, but a macro may have changed them), so a
bad range is an OptionError here, which the runner reports as UNKNOWN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from augenmass.core.thresholds import Range, evaluate, parse_range
from augenmass.core.values import PerfDatum
from augenmass.probes.base import OptionError

LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


@dataclass(frozen=True, slots=True)
class Levels:
    """A warning/critical pair of ranges; either may be missing."""

    warning: Range | None = None
    critical: Range | None = None

    @property
    def empty(self) -> bool:
        return self.warning is None and self.critical is None

    def state(self, value: float) -> int:
        return evaluate(value, self.warning, self.critical)

    def scaled(self, factor: float) -> Levels:
        """The same pair in other units (e.g. MiB thresholds on a value in bytes)."""
        return Levels(_scale(self.warning, factor), _scale(self.critical, factor))

    def perf(
        self,
        label: str,
        value: float,
        uom: str = "",
        low: float | None = None,
        high: float | None = None,
    ) -> PerfDatum:
        warn = None if self.warning is None else str(self.warning)
        crit = None if self.critical is None else str(self.critical)
        return PerfDatum(label, value, uom, warn, crit, low, high)


def _scale(rng: Range | None, factor: float) -> Range | None:
    if rng is None:
        return None
    return Range(rng.start * factor, rng.end * factor, rng.inside)


def levels(options: Mapping[str, Any], prefix: str, probe: str) -> Levels:
    """The pair from `<prefix>warning` / `<prefix>critical` (prefix "" or e.g. "used_")."""
    return Levels(
        _range(options.get(f"{prefix}warning"), f"{prefix}warning", probe),
        _range(options.get(f"{prefix}critical"), f"{prefix}critical", probe),
    )


def _range(raw: Any, name: str, probe: str) -> Range | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_range(raw)
    except ValueError as exc:
        raise OptionError(f"{probe}: {name}: {exc}") from None


def worst(states: Iterable[int]) -> int:
    """The most severe state, Nagios order: CRITICAL > WARNING > UNKNOWN > OK."""
    order = {0: 0, 3: 1, 1: 2, 2: 3}
    return max(states, key=lambda s: order[s], default=0)


def number(options: Mapping[str, Any], name: str, probe: str, default: float) -> float:
    raw = options.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise OptionError(f"{probe}: {name} must be a number, not {raw!r}") from None
    if isinstance(raw, bool) or not math.isfinite(value):
        raise OptionError(f"{probe}: {name} must be a number, not {raw!r}")
    return value


def flag(options: Mapping[str, Any], name: str, probe: str, default: bool) -> bool:
    raw = options.get(name, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise OptionError(f"{probe}: {name} must be true or false, not {raw!r}")


def names(options: Mapping[str, Any], name: str, probe: str) -> tuple[str, ...]:
    raw = options.get(name)
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list | tuple) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise OptionError(f"{probe}: {name} must be a list of patterns, not {raw!r}")


def size_text(n_bytes: float) -> str:
    """Human-readable bytes in binary units: 1.5 GiB, 512 MiB, 900 B."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover - the loop always returns
