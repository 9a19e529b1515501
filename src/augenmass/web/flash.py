"""One-shot messages for the next page a session renders ("Done.", an action's error).

They used to travel in the redirect's query string (`?error=...`), which let anyone link to a
page with text of their choosing in its alert box. Now they stay on the server, keyed by the
session's id hash, in memory: bounded in number and age, shown once, gone with a restart (a lost
"Done." is harmless).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_FLASHES = 10_000
MAX_AGE = 300.0  # a redirect is followed at once; older ones are leftovers
MAX_TEXT = 300


@dataclass(frozen=True, slots=True)
class Flash:
    kind: str  # "notice" or "error"
    text: str


_pending: OrderedDict[str, tuple[float, Flash]] = OrderedDict()


def put(session: str, kind: str, text: str) -> None:
    now = time.monotonic()
    _pending.pop(session, None)
    _pending[session] = (now, Flash(kind, text[:MAX_TEXT]))
    while len(_pending) > MAX_FLASHES:
        _pending.popitem(last=False)
    _expire(now)


def take(session: str) -> Flash | None:
    """The session's message, removed: a reload does not show it again."""
    now = time.monotonic()
    _expire(now)
    found = _pending.pop(session, None)
    return None if found is None else found[1]


def _expire(now: float) -> None:
    while _pending:
        stamp, _ = next(iter(_pending.values()))
        if now - stamp < MAX_AGE:
            break
        _pending.popitem(last=False)
