"""Nagios flap detection (docs/semantics.md §10): 21 recorded states, weights 0.75..1.25."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from augenmass.core.plan import Policy
from augenmass.core.values import CheckState

HISTORY = 21


def percent_state_change(history: tuple[int, ...]) -> float:
    """Weighted share of transitions in the ring, newest weighing most, as a percentage.

    A short history is padded at the old end with its oldest entry, as Nagios fills the
    ring with the initial state.
    """
    if not history:
        return 0.0
    ring = (history[0],) * (HISTORY - len(history)) + history[-HISTORY:]
    total = 0.0
    for x in range(1, HISTORY):
        if ring[x] != ring[x - 1]:
            total += 0.75 + (x - 1) * (1.25 - 0.75) / (HISTORY - 2)
    return round(total * 100.0 / (HISTORY - 1), 2)


@lru_cache(maxsize=4096)
def _judged(history: tuple[int, ...]) -> tuple[tuple[int, ...], float]:
    """The history as one shared object, and its percentage. Cached: it runs for every result,
    and nearly all carry one of a few histories (a steady state's ring is all one value), which
    every check keeps (224 bytes each): one tuple for each of those, not one per check."""
    return history, percent_state_change(history)


def record(state: CheckState, value: int, policy: Policy) -> tuple[dict[str, Any], str | None]:
    """Add `value` to the history of `state` and decide.

    Returns the fields to change (the engine builds the new state once, from all changes)
    and "start"/"stop"/None.
    """
    history, psc = _judged((state.state_history + (value,))[-HISTORY:])
    changes: dict[str, Any] = {"state_history": history, "percent_state_change": psc}
    flap: str | None = None
    if not policy.flap_detection:
        # detection switched off while flapping (e.g. by a reload): end the episode
        if state.is_flapping:
            changes["is_flapping"], flap = False, "stop"
    elif not state.is_flapping and psc >= policy.flap_high:
        changes["is_flapping"], flap = True, "start"
    elif state.is_flapping and psc <= policy.flap_low:
        changes["is_flapping"], flap = False, "stop"
    return changes, flap
