"""Lateness figures: how long after its due time each check actually started."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SchedulerStats:
    """A snapshot. Counters are totals since the scheduler was made; lateness figures are over
    the sliding window (seconds)."""

    jobs: int = 0
    checks_started: int = 0
    checks_completed: int = 0
    errors: int = 0  # runner or on_result raised
    in_flight: int = 0
    queued: int = 0  # due, but waiting for a concurrency slot
    overruns: int = 0  # a run took longer than its interval, so the next one was due at once
    lateness_samples: int = 0  # starts inside the window
    lateness_p50: float = 0.0
    lateness_p99: float = 0.0
    lateness_max: float = 0.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


class LatenessWindow:
    """Lateness of the starts in the last `window` seconds (at most `max_samples` of them), plus
    a bounded buffer of every sample since the last `pop_samples()` for the server's perfdata."""

    def __init__(
        self, window: float = 60.0, max_samples: int = 100_000, max_unpopped: int = 100_000
    ) -> None:
        self._window = window
        self._recent: deque[tuple[float, float]] = deque(maxlen=max_samples)
        # Bounded so a lead that never pops cannot grow memory; the oldest samples go first.
        self._unpopped: deque[float] = deque(maxlen=max_unpopped)

    def add(self, at: float, lateness: float) -> None:
        self._recent.append((at, lateness))
        self._unpopped.append(lateness)
        self._prune(at)

    def figures(self, now: float) -> tuple[int, float, float, float]:
        """(samples, p50, p99, max) of the window ending at `now`."""
        self._prune(now)
        values = sorted(lateness for _, lateness in self._recent)
        if not values:
            return 0, 0.0, 0.0, 0.0
        return len(values), percentile(values, 0.5), percentile(values, 0.99), values[-1]

    def pop_samples(self) -> list[float]:
        samples = list(self._unpopped)
        self._unpopped.clear()
        return samples

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        recent = self._recent
        while recent and recent[0][0] < horizon:
            recent.popleft()
