"""Brute-force protection for logins: per account and global, in memory, never per address.

Each failed login for a name doubles the wait before the next attempt for that name is even
checked (1 s, 2 s, 4 s ... capped at `max_lock`). A global cap on failures per minute stops a
spray over many names. Nothing here is persisted: a restart forgets it, which costs an attacker
a restart they cannot cause.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass
class _Account:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay: float = 1.0,
        max_lock: float = 900.0,
        global_failures_per_minute: int = 60,
        max_tracked: int = 10_000,
        concurrent_verifications: int = 4,
    ) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_lock = max_lock
        self.global_cap = global_failures_per_minute
        self.max_tracked = max_tracked
        # argon2 costs ~50 ms of CPU and 64 MiB: bound how many run at once.
        self.verifications = asyncio.Semaphore(concurrent_verifications)
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._recent: deque[float] = deque()

    def retry_after(self, name: str, now: float) -> float:
        """Seconds until `name` may try again (0 = now)."""
        self._expire(now)
        if len(self._recent) >= self.global_cap:
            return max(0.0, self._recent[0] + 60.0 - now)
        acct = self._accounts.get(name)
        return 0.0 if acct is None else max(0.0, acct.locked_until - now)

    def failed(self, name: str, now: float) -> None:
        self._recent.append(now)
        acct = self._accounts.pop(name, None) or _Account()
        acct.failures += 1
        over = acct.failures - self.free_failures
        if over >= 0:
            acct.locked_until = now + min(self.max_lock, self.base_delay * 2.0 ** min(over, 30))
        self._accounts[name] = acct  # most recent last
        while len(self._accounts) > self.max_tracked:
            self._accounts.popitem(last=False)

    def succeeded(self, name: str) -> None:
        self._accounts.pop(name, None)

    def _expire(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - 60.0:
            self._recent.popleft()
