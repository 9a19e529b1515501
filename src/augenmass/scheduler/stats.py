"""Lateness figures: how long after its due time each check actually started."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
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
    a bounded buffer of every sample since the last `pop_samples()` for the server's perfdata.

    Samples sit in flat arrays of doubles (16 bytes a start), not in a deque of tuples of float
    objects (about 110): under overload a minute holds a hundred thousand starts."""

    def __init__(
        self, window: float = 60.0, max_samples: int = 100_000, max_unpopped: int = 100_000
    ) -> None:
        self._window = window
        self._max_samples = max_samples
        self._max_unpopped = max_unpopped
        # start times (monotonic, so never decreasing) and lateness; live from _head on
        self._at = array("d")
        self._late = array("d")
        self._head = 0
        self._unpopped = array("d")

    def add(self, at: float, lateness: float) -> None:
        self._at.append(at)
        self._late.append(lateness)
        if len(self._at) - self._head > self._max_samples:
            self._head += 1
        unpopped = self._unpopped
        unpopped.append(lateness)
        # Bounded so a lead that never pops cannot grow memory; the oldest samples go first
        # (dropped in bulk, once twice the bound is reached).
        if len(unpopped) >= 2 * self._max_unpopped:
            del unpopped[: len(unpopped) - self._max_unpopped]
        self._prune(at)

    def figures(self, now: float) -> tuple[int, float, float, float]:
        """(samples, p50, p99, max) of the window ending at `now`."""
        self._prune(now)
        values = sorted(self._late[self._head :])
        if not values:
            return 0, 0.0, 0.0, 0.0
        return len(values), percentile(values, 0.5), percentile(values, 0.99), values[-1]

    def pop_samples(self) -> list[float]:
        samples = self._unpopped[-self._max_unpopped :].tolist()
        self._unpopped = array("d")
        return samples

    def _prune(self, now: float) -> None:
        at = self._at
        head = self._head = max(self._head, bisect_left(at, now - self._window, self._head))
        if head >= 1024 and 2 * head >= len(at):  # drop the dead front now and then
            del at[:head]
            del self._late[:head]
            self._head = 0
