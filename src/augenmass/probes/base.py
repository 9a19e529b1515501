"""What a built-in probe is: an object with a `type` and one coroutine returning a ProbeOutcome.

An unreachable target is data (CRITICAL plus a reason), not an exception. The runner enforces
the hard deadline and turns any exception a probe lets escape into UNKNOWN.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from augenmass.core.clock import Clock, SystemClock

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    status: int
    output: str
    long_output: str = ""
    perfdata: tuple[Any, ...] = ()  # PerfDatum items
    notes: tuple[str, ...] = ()


class Probe(Protocol):
    type: str
    # option defaults applied before macro expansion, e.g. {"host": "$HOSTADDRESS$"}
    defaults: ClassVar[Mapping[str, Any]]

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        """Run once. `timeout` is the probe's own budget; finish inside it with a real result."""
        ...


class ProbeBase:
    """Base of the built-in probe classes. The runner makes each with its clock (`clock=`), so
    any time a probe reasons about (expiry, ages, sleeps) can be driven by a fake clock."""

    # True: `run` ends by `timeout` on the event loop's clock by itself (its whole await under
    # one asyncio.timeout), so the runner's hard stop half a second later is never the one to
    # fire and is left out (a timer less per check).
    ends_by_timeout: ClassVar[bool] = False

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()


class OptionError(ValueError):
    """A probe option is missing or has the wrong type: the runner reports UNKNOWN."""


class NamedProbe(ProbeBase):
    """Base for probes whose option errors should name the check type ("tcp: port must be ...").

    Subclasses implement `_run`; `run` adds the type to any OptionError it raises."""

    type: str

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        try:
            return await self._run(options, timeout)
        except OptionError as exc:
            raise OptionError(f"{self.type}: {exc}") from None

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        raise NotImplementedError


M = TypeVar("M", bound=BaseModel)


def parse_options(model: type[M], kind: str, options: Mapping[str, Any]) -> M:
    """Validate a probe's options (already checked at config load; this also serves
    `augenmass probe` and agents). Unknown keys and the runner's `timeout` are ignored."""
    clean = {k: v for k, v in options.items() if k in model.model_fields and k != "timeout"}
    try:
        return model.model_validate(clean, strict=False)
    except ValidationError as exc:
        raise OptionError(f"{kind}: {_problems(exc)}") from None
    except ValueError as exc:
        raise OptionError(f"{kind}: {exc}") from None


def _problems(exc: ValidationError) -> str:
    """The errors as "key: what is wrong", never the value given: an option may be a password
    (pydantic's own text quotes every input)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def parse_ranges(kind: str, warn: str | None, crit: str | None) -> tuple[Any, Any]:
    """The warning and critical ranges (None where not set); a bad one is an OptionError."""
    from augenmass.core.thresholds import parse_range

    try:
        return (
            None if warn is None else parse_range(warn),
            None if crit is None else parse_range(crit),
        )
    except ValueError as exc:
        raise OptionError(f"{kind}: {exc}") from None


T = TypeVar("T")

_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


def options_key(options: Mapping[str, Any]) -> Hashable | None:
    """A hashable form of an options dict, or None when it holds a value that cannot be frozen.

    The type goes into the key with every value: 1, 1.0 and True are equal as dict keys but may
    validate differently (a text option turns them into "1", "1.0" and "true"). One flat tuple,
    as it is kept in memory for as long as its entry."""
    key: list[Any] = []
    try:
        for name, value in options.items():
            kind = type(value)
            key += (name, kind, value if kind in _SCALARS else _freeze(value))
    except TypeError:
        return None
    return tuple(key)


def _freeze(value: Any) -> Hashable:
    if type(value) in _SCALARS:
        return (type(value), value)
    if isinstance(value, dict | Mapping):  # dict first: the ABC check alone is slow
        return (dict, tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), tuple(_freeze(v) for v in value))
    raise TypeError(f"cannot freeze {type(value).__name__}")


def _same(held: object, key: Hashable) -> bool:
    """Whether a memo entry (a view of options, or an options key) is for the content `key`."""
    if isinstance(held, MappingProxyType):
        return options_key(held) == key
    return held == key


class OptionsMemo(Generic[T]):
    """What a probe derives from one options content (validated model, ranges, request bytes),
    kept for the next run with equal options.

    The runner passes a fresh dict every check, but for one service its content is the same each
    time, and validating it again costs more than a whole small probe. A `build` that raises
    caches nothing, so bad options are reported on every run as before.

    Sized by what it sees, never by a guess: past `size` distinct contents the oldest entry goes,
    and the hash of what went is remembered (a few bytes each). When a content comes back that
    went for want of room, the memo is smaller than the set of checks in use (every check of a
    type, round and round): it keeps that one without evicting another, so it grows by exactly
    what comes back, up to `max_size`. 10,000 distinct http checks keep hitting from their third
    round on, while a memo whose contents come and go once (a reload) stays at its size."""

    def __init__(self, size: int = 4096, max_size: int = 1 << 18) -> None:
        self.size = max(1, size)
        self.max_size = max(self.size, max_size)
        _MEMOS.add(self)
        self.builds = 0  # entries made (misses): how a test sees that the memo keeps hitting
        # Keyed by the hash of the content; the entry holds what tells equal contents apart:
        # the read-only view itself when the runner gave one (a copy of the key as big as the
        # options, per check, was 600 bytes of each http check's memory), else the key.
        self._entries: dict[int, tuple[Hashable, T]] = {}
        # hashes of the keys evicted lately (up to max_size of them, a few dozen bytes each: as
        # many as there can be checks): a miss on one means the memo is too small for the checks
        # in use, however many more there are than entries
        self._gone: dict[int, None] = {}
        # The runner hands a service the same read-only view on every run: found by identity,
        # its content is not walked again. The view is kept in the entry so its id stays its own.
        self._views: dict[int, tuple[MappingProxyType[str, Any], T]] = {}

    def get(self, options: Mapping[str, Any], build: Callable[[], T]) -> T:
        view = type(options) is MappingProxyType
        if view:
            hit = self._views.get(id(options))
            if hit is not None and hit[0] is options:
                return hit[1]
        key = options_key(options)
        if key is None:
            return build()
        digest = hash(key)
        found = self._entries.get(digest)
        if found is not None and _same(found[0], key):
            value = found[1]
        else:
            # a miss, or another content with the same hash (rare): that one is replaced
            value = self._add(digest, options if view else key, build)
        if view:
            views = self._views
            if len(views) >= self.size:
                del views[next(iter(views))]
            views[id(options)] = (options, value)  # type: ignore[assignment]
        return value

    def _add(self, digest: int, held: Hashable, build: Callable[[], T]) -> T:
        value = build()
        self.builds += 1
        entries, gone = self._entries, self._gone
        if gone and digest in gone:
            del gone[digest]
            self.size = min(self.max_size, self.size + 1)  # room for it: no eviction
        if digest not in entries and len(entries) >= self.size:
            oldest = next(iter(entries))
            del entries[oldest]
            if len(gone) >= self.max_size:
                del gone[next(iter(gone))]
            gone[oldest] = None
        entries[digest] = (held, value)
        return value

    def reserve(self, contents: int) -> None:
        """Room for `contents` distinct options (up to max_size) before anything is evicted."""
        self.size = max(self.size, min(self.max_size, contents))

    def __len__(self) -> int:
        return len(self._entries)


_MEMOS: weakref.WeakSet[OptionsMemo[Any]] = weakref.WeakSet()


def reserve_options(checks: int) -> None:
    """Size every options memo for `checks` distinct checks: the runner (and a probe worker)
    call this as the checks they run grow, so no memo evicts an entry a configuration still
    uses. Room is not memory: an entry is made only for options that are run."""
    for memo in list(_MEMOS):
        memo.reserve(checks)
