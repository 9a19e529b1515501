"""Brute-force protection for logins that an attacker cannot turn against other users.

Per account: every attempt is charged as a failure *before* the password is checked (refunded
on success), in one synchronous step with the lock check, so parallel guesses cannot all pass a
check that was made before any of them failed. After `free_failures` each further attempt doubles
the wait for that name (1 s, 2 s, 4 s ... capped at `max_lock`). 20 parallel guesses for one name
therefore cost at most `free_failures` password verifications.

Per source: a leaky bucket of failures per client address, refused before any database lookup or
argon2 slot, so one sprayer cannot slow or block logins from anywhere else. There is no global cap:
a spray over made-up names used to lock every account. Admitted attempts wait for an argon2 slot
in the order of their source's failures (`gate.PriorityGate`): a spray from many addresses queues
behind a user from a clean one.

Client addresses are never stored. The table is keyed by HMAC-SHA256(address) with a random key
made at process start and kept only in RAM (never logged, persisted or shown): without the key the
digests cannot be turned back into addresses, not even by trying all 2^32 IPv4 addresses, and a
restart makes every old digest meaningless. Entries die once their bucket has drained (at most
`source_window` seconds after the last failure) and the table is bounded (least recently used go
first). IPv6 sources count by /64, the block one subscriber usually gets.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from augenmass.api.gate import PriorityGate

REASONS = ("password", "throttled", "source_limit")


@dataclass
class _Account:
    failures: int = 0
    locked_until: float = 0.0
    refused: bool = False  # a refusal during this lock was reported already


@dataclass
class _Bucket:
    level: float = 0.0  # failures not yet drained
    last: float = 0.0
    refused: bool = False  # a refusal since the limit was reached was reported already


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str  # "throttled" (the account) or "source_limit"
    retry_after: float
    first: bool  # the first of a run: worth a log line (the rest only count in /metrics)


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted attempt, already charged; `succeeded` refunds it."""

    name: str
    source: bytes
    priority: float  # the source's failures before this one: fewer wait less for argon2


class LoginThrottle:
    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay: float = 1.0,
        max_lock: float = 900.0,
        source_failures: int = 20,
        source_window: float = 600.0,
        max_tracked: int = 10_000,
        max_sources: int = 10_000,
        concurrent_verifications: int = 4,
    ) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_lock = max_lock
        # a source may fail `source_failures` times at once, then once per window/failures
        self.source_failures = source_failures
        self.source_window = source_window
        self.max_tracked = max_tracked
        self.max_sources = max_sources
        # argon2 costs ~50 ms of CPU and 64 MiB: bound how many run at once, clean sources first
        self.verifications = PriorityGate(concurrent_verifications)
        self._key = secrets.token_bytes(32)  # RAM only: see the module docstring
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._sources: OrderedDict[bytes, _Bucket] = OrderedDict()
        self.failures = dict.fromkeys(REASONS, 0)  # for /metrics

    def source_key(self, address: str) -> bytes:
        """The keyed digest a client address is counted under (the address itself is dropped)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            text = address
        else:
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            if isinstance(ip, ipaddress.IPv6Address):
                text = str(ipaddress.ip_network(f"{ip}/64", strict=False))
            else:
                text = str(ip)
        return hmac.new(self._key, text.encode("utf-8", "replace"), hashlib.sha256).digest()[:16]

    def admit(self, name: str, source: bytes, now: float) -> Ticket | Refusal:
        """Decide and charge in one step (no await): a refusal costs no lookup and no hash."""
        bucket = self._drain(source, now)
        if bucket.level + 1 > self.source_failures:
            self.failures["source_limit"] += 1
            wait = (bucket.level + 1 - self.source_failures) * self._rate_inverse
            first, bucket.refused = not bucket.refused, True
            return Refusal("source_limit", max(wait, 1.0), first)
        acct = self._accounts.get(name)
        if acct is not None and acct.locked_until > now:
            self.failures["throttled"] += 1
            first, acct.refused = not acct.refused, True
            return Refusal("throttled", acct.locked_until - now, first)
        # charge up front: parallel attempts see this failure before the hash is checked
        priority = bucket.level
        bucket.level += 1
        bucket.refused = False
        self._charge(name, now)
        return Ticket(name, source, priority)

    def failed(self, ticket: Ticket) -> None:
        """A wrong password: already charged at admission, only counted here."""
        del ticket
        self.failures["password"] += 1

    def succeeded(self, ticket: Ticket) -> None:
        self._accounts.pop(ticket.name, None)
        bucket = self._sources.get(ticket.source)
        if bucket is not None:
            bucket.level = max(0.0, bucket.level - 1)

    @property
    def _rate_inverse(self) -> float:
        """Seconds for one failure to drain from a source's bucket."""
        return self.source_window / max(1, self.source_failures)

    def _charge(self, name: str, now: float) -> None:
        acct = self._accounts.pop(name, None) or _Account()
        if acct.locked_until and now - acct.locked_until > self.max_lock:
            acct.failures = 0  # quiet for longer than the longest lock: forgive the old run
        acct.failures += 1
        acct.refused = False
        over = acct.failures - self.free_failures
        if over >= 0:
            acct.locked_until = now + min(self.max_lock, self.base_delay * 2.0 ** min(over, 30))
        self._accounts[name] = acct  # most recent last
        while len(self._accounts) > self.max_tracked:
            self._accounts.popitem(last=False)

    def _drain(self, source: bytes, now: float) -> _Bucket:
        # entries are ordered by last touch: the oldest drained ones go first
        while self._sources:
            oldest = next(iter(self._sources.values()))
            if now - oldest.last < self.source_window and len(self._sources) < self.max_sources:
                break
            self._sources.popitem(last=False)
        bucket = self._sources.pop(source, None) or _Bucket(0.0, now)
        bucket.level = max(0.0, bucket.level - (now - bucket.last) / self._rate_inverse)
        bucket.last = now
        self._sources[source] = bucket
        return bucket

    def tracked_sources(self) -> int:
        return len(self._sources)
