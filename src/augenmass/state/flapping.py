"""Nagios flap detection (semantics.md §6.1): 21 recorded states, weights 0.75..1.25."""

from __future__ import annotations

from dataclasses import replace

from augenmass.model import CheckState
from augenmass.plan import Policy

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


def record(state: CheckState, value: int, policy: Policy) -> tuple[CheckState, str | None]:
    """Add `value` to the history and decide; returns the new state and "start"/"stop"/None."""
    history = (state.state_history + (value,))[-HISTORY:]
    psc = percent_state_change(history)
    new = replace(state, state_history=history, percent_state_change=psc)
    if not policy.flap_detection:
        # detection switched off while flapping (e.g. by a reload): end the episode
        return (replace(new, is_flapping=False), "stop") if state.is_flapping else (new, None)
    if not state.is_flapping and psc >= policy.flap_high:
        return replace(new, is_flapping=True), "start"
    if state.is_flapping and psc <= policy.flap_low:
        return replace(new, is_flapping=False), "stop"
    return new, None
