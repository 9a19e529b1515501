"""What one engine call decided: changed states, events, downtime changes."""

from __future__ import annotations

from dataclasses import dataclass, field

from augenmass.core.values import CheckKey, CheckState, Downtime, Event


@dataclass(frozen=True)
class Outcome:
    """Everything the store must persist before the caller acts on `events`.

    `reason` is set when the call was ignored (unknown key, out-of-order result, ack of an
    OK object, ...); the Outcome is then otherwise empty.
    """

    states: dict[CheckKey, CheckState] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    downtimes_set: list[Downtime] = field(default_factory=list)
    downtimes_removed: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.states or self.events or self.downtimes_set or self.downtimes_removed)


class OutcomeBuilder:
    """Collects changes during one engine call; later writes to the same key/id win."""

    def __init__(self) -> None:
        self.states: dict[CheckKey, CheckState] = {}
        self.events: list[Event] = []
        self.downtimes_set: dict[str, Downtime] = {}
        self.downtimes_removed: list[str] = []

    def set_downtime(self, dt: Downtime) -> None:
        self.downtimes_set[dt.id] = dt

    def remove_downtime(self, dt_id: str) -> None:
        self.downtimes_set.pop(dt_id, None)
        if dt_id not in self.downtimes_removed:
            self.downtimes_removed.append(dt_id)

    def build(self) -> Outcome:
        """The Outcome; it takes over the collections, so build once and drop the builder."""
        return Outcome(
            states=self.states,
            events=self.events,
            downtimes_set=list(self.downtimes_set.values()),
            downtimes_removed=self.downtimes_removed,
        )
