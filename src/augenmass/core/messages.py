"""Values passed between outbox, grouping, rendering and channels."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from augenmass.core.values import CheckKey

_ADDRESS = re.compile(r"[^\s<>@\"',;:]+@[^\s<>@\"',;:]+")


@dataclass(frozen=True, slots=True)
class Item:
    """One notification for one contact on one channel: a row of the outbox."""

    id: int
    created: float
    contact: str
    channel: str  # "email" | "webhook:NAME" | "apprise"
    type: str
    host: str
    service: str  # '' for a host
    state: int
    number: int
    at: float
    output: str
    data: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    due: float = 0.0
    message_id: str = ""  # of the last message that carried it (maybe delivered, maybe not)

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.host, self.service or None)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a message: a notification, possibly merged with its recovery, possibly
    covering a host's services and the hosts behind it."""

    type: str
    host: str
    service: str
    state: int
    output: str
    at: float
    number: int = 0
    problem_state: int | None = None  # set when a problem and its recovery were merged
    problem_at: float | None = None
    affected: tuple[str, ...] = ()  # services and hosts rolled up into a host problem
    # hosts whose only way in is through this host (a host DOWN or its RECOVERY)
    behind: tuple[str, ...] = ()
    reachable: int | None = None  # RECOVERY: how many of `behind` no entry here says are not
    # an UNREACHABLE host whose cause is not in this message: its parents (from the plan)
    part_of: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.host, self.service or None)


@dataclass(frozen=True, slots=True)
class Message:
    """What one channel sends to one contact at once."""

    contact: str
    channel: str
    entries: tuple[Entry, ...]
    item_ids: tuple[int, ...]
    message_id: str  # one per content: the same rows give the same id, other rows another
    # Message-IDs of the problems this recovers, and of earlier attempts to send these rows
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str  # one line
    text: str
    html: str | None = None


class SendError(Exception):
    """A channel could not deliver. `retry`: a later attempt may succeed (no connection, 4xx);
    otherwise it is permanent (5xx) and bounded retries only cover a misjudged answer."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        self.reason = scrub(reason)
        self.retry = retry
        super().__init__(self.reason)


def data_time(data: Mapping[str, Any], name: str) -> float | None:
    """A time kept in a notification's data ("began", "confirmed"), or None: absent (rows
    written before it existed, a state without a problem) or not a usable time."""
    value = data.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def scrub(text: str, limit: int = 300) -> str:
    """An error text fit for logs and the store: no addresses, one line, bounded."""
    text = _ADDRESS.sub("<address>", text)
    text = " ".join(text.split())
    return text[:limit]
