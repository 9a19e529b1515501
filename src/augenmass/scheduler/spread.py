"""Where new and reloaded checks land in time, so start-up and reloads cause no thundering herd."""

from __future__ import annotations

import random


def first_delay(interval: float, max_spread: float, rng: random.Random) -> float:
    """Delay of a key's first check: uniform in [0, min(interval, max_spread))."""
    window = max(0.0, min(interval, max_spread))
    # rng.random() is in [0, 1), so the delay never reaches the end of the window.
    return rng.random() * window


def clamp_remaining(remaining: float, interval: float) -> float:
    """The wait left for a kept key after a reload.

    A wait longer than the new interval is folded into [0, interval) by its remainder rather than
    cut to `interval`: cutting would pile every shortened key onto one instant, the remainder keeps
    them spread as they were.
    """
    if remaining <= interval:
        return remaining  # includes overdue keys (negative): they keep their place in the queue
    return remaining % interval
