"""What the scheduler needs to know about one check: the template it turns into CheckJobs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from augenmass.core.plan import CheckSpec, TimePeriodLike
from augenmass.core.values import CheckKey


def positive_seconds(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


@dataclass(frozen=True, slots=True)
class JobTemplate:
    """One scheduled host or service check.

    `interval` is the regular check interval in seconds. `active=False` means passive-only: the
    check runs only as a forced freshness check, when `freshness_threshold` seconds pass without
    a passive result (`Scheduler.note_passive`). With a `period` (the check_period), a check due
    outside it waits for the period's next start; a "check now" runs anyway.
    """

    key: CheckKey
    check: CheckSpec
    macros: Mapping[str, str] = field(default_factory=dict)
    interval: float = 300.0
    active: bool = True
    freshness_threshold: float | None = None
    period: TimePeriodLike | None = None

    def __post_init__(self) -> None:
        # A zero, negative or NaN interval would spin the loop; reject it with the key named.
        if not positive_seconds(self.interval):
            raise ValueError(f"{self.key}: check interval must be > 0 s, got {self.interval!r}")
        if self.freshness_threshold is not None and not positive_seconds(self.freshness_threshold):
            raise ValueError(
                f"{self.key}: freshness threshold must be > 0 s, got {self.freshness_threshold!r}"
            )

    @property
    def forced_only(self) -> bool:
        """Passive-only with a freshness threshold: runs only when results go stale."""
        return not self.active and self.freshness_threshold is not None

    @property
    def schedulable(self) -> bool:
        """Whether the key gets a heap entry at all (passive-only without freshness: never)."""
        return self.active or self.freshness_threshold is not None
