"""What one store transaction writes (WriteBatch) and what start-up reads (Snapshot)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from augenmass.core.values import CheckKey, CheckResult, CheckState, Downtime, Event
from augenmass.store.outboxrows import Queued


@dataclass(slots=True)
class WriteBatch:
    states: list[CheckState] = field(default_factory=list)
    downtimes_set: list[Downtime] = field(default_factory=list)
    downtimes_removed: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    # outbox rows of the notification events above: in the same transaction, never apart
    notifications: list[Queued] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.only_results() and not self.results

    def only_results(self) -> bool:
        """True when nothing but results is in here (the part the writer may shed)."""
        return not (
            self.states
            or self.downtimes_set
            or self.downtimes_removed
            or self.events
            or self.notifications
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    states: dict[CheckKey, CheckState]
    downtimes: dict[str, Downtime]


def merge_batches(batches: Iterable[WriteBatch]) -> WriteBatch:
    """One batch equivalent to applying `batches` in order.

    States keep the last per key and downtime set/remove keep their order: an upsert must not
    touch one row twice in a statement (PostgreSQL refuses that).
    """
    states: dict[CheckKey, CheckState] = {}
    downtimes: dict[str, Downtime | None] = {}
    out = WriteBatch()
    for b in batches:
        for s in b.states:
            states.pop(s.key, None)  # re-insert so the dict order follows the last write
            states[s.key] = s
        for d in b.downtimes_set:
            downtimes.pop(d.id, None)
            downtimes[d.id] = d
        for dt_id in b.downtimes_removed:
            downtimes.pop(dt_id, None)
            downtimes[dt_id] = None
        out.events.extend(b.events)
        out.results.extend(b.results)
        out.notifications.extend(b.notifications)
    out.states = list(states.values())
    out.downtimes_set = [d for d in downtimes.values() if d is not None]
    out.downtimes_removed = [i for i, d in downtimes.items() if d is None]
    return out
