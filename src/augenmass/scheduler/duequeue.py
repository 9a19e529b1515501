"""A min-heap of due times with at most one live entry per key.

Replacing or removing a key leaves a stale heap entry behind (lazy deletion, O(log n) per
operation); the heap is rebuilt when stale entries outnumber live ones, so memory stays
proportional to the number of keys.

The live map holds the very tuple that is in the heap (one tuple, float and int per key, not
two): an entry is live when the map points at it.
"""

from __future__ import annotations

import heapq
import itertools

from augenmass.core.values import CheckKey

_Entry = tuple[float, int, CheckKey]


class DueQueue:
    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._live: dict[CheckKey, _Entry] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, key: object) -> bool:
        return key in self._live

    def due_of(self, key: CheckKey) -> float | None:
        live = self._live.get(key)
        return None if live is None else live[0]

    def push(self, key: CheckKey, due: float) -> None:
        """Schedule `key` at `due`, replacing any earlier entry; equal due times run FIFO."""
        entry = (due, next(self._seq), key)
        self._live[key] = entry
        heapq.heappush(self._heap, entry)
        self._maybe_compact()

    def remove(self, key: CheckKey) -> None:
        if self._live.pop(key, None) is not None:
            self._maybe_compact()

    def peek(self) -> tuple[float, CheckKey] | None:
        self._drop_stale_top()
        if not self._heap:
            return None
        due, _, key = self._heap[0]
        return due, key

    def pop(self) -> tuple[float, CheckKey]:
        self._drop_stale_top()
        due, _, key = heapq.heappop(self._heap)
        del self._live[key]
        return due, key

    def count_due(self, now: float) -> int:
        """How many keys are due at `now` (O(n); for on-demand statistics only)."""
        return sum(1 for entry in self._live.values() if entry[0] <= now)

    def keys(self) -> list[CheckKey]:
        return list(self._live)

    def _is_live(self, entry: _Entry) -> bool:
        return self._live.get(entry[2]) is entry

    def _drop_stale_top(self) -> None:
        heap = self._heap
        while heap and not self._is_live(heap[0]):
            heapq.heappop(heap)

    def _maybe_compact(self) -> None:
        if len(self._heap) > 2 * len(self._live) + 64:
            self._heap = list(self._live.values())
            heapq.heapify(self._heap)
