"""Per-second rates from SNMP counters: the previous sample is kept in the probe instance.

Keys hold a digest of the credentials, never the community itself. Counter32 wraps at 2^32 (a
busy gigabit port wraps every 34 s); a Counter64 that goes down was reset (agent restart), not
wrapped, so that sample gives no rate instead of an absurd one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from augenmass.core.clock import Clock, SystemClock

MAX_KEYS = 50_000  # bounded: a config with many interfaces still cannot grow this forever
_WRAP = {"counter32": 1 << 32, "counter64": 1 << 64}


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float | None  # None: first sample, reset, or no time passed
    note: str = ""


class CounterMemory:
    def __init__(self, max_keys: int = MAX_KEYS, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._samples: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()
        self._max = max_keys

    def rate(self, key: Hashable, value: int, kind: str) -> Rate:
        """Store this sample and return the rate since the previous one."""
        now = self.clock.monotonic()
        previous = self._samples.pop(key, None)
        self._samples[key] = (value, now)
        while len(self._samples) > self._max:
            self._samples.popitem(last=False)
        if previous is None:
            return Rate(None, "no rate yet (first sample)")
        return counter_rate(previous[0], previous[1], value, now, kind)

    def __len__(self) -> int:
        return len(self._samples)


def counter_rate(old: int, old_time: float, new: int, new_time: float, kind: str) -> Rate:
    elapsed = new_time - old_time
    if elapsed <= 0:
        return Rate(None, "no rate (no time passed since the last sample)")
    delta = new - old
    if delta < 0:
        if kind != "counter32":
            return Rate(None, "no rate (counter went back: agent restarted?)")
        delta += _WRAP["counter32"]  # one wrap; two within one interval cannot be seen
    return Rate(delta / elapsed)
