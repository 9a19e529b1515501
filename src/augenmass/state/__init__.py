"""The pure state engine: soft/hard logic, notifications, acks, downtimes, flapping."""

from __future__ import annotations

from augenmass.state.engine import Engine
from augenmass.state.outcome import Outcome

__all__ = ["Engine", "Outcome"]
