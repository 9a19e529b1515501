"""Frozen value types shared by every layer: keys, results, states, events.

Times are wall-clock seconds since the epoch (UTC) as floats; durations are seconds.
Only the scheduler uses a monotonic clock, for due times.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from augenmass.core.secrets import REDACT, strip_bidi


class Status(IntEnum):
    """Service states, and plugin exit codes 0..3."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


class HostStatus(IntEnum):
    UP = 0
    DOWN = 1
    UNREACHABLE = 2


class StateType(StrEnum):
    SOFT = "SOFT"
    HARD = "HARD"


def state_name(state: int, is_host: bool) -> str:
    return HostStatus(state).name if is_host else Status(state).name


@dataclass(frozen=True, slots=True, order=True)
class CheckKey:
    """Identifies a host (service is None) or a service. Host names never contain '/'."""

    host: str
    service: str | None = None
    # Computed once: a key is hashed about thirty times per check run (the due queue, the
    # policies, the engine's maps), and the generated __hash__ builds a tuple every time
    # (~3 % of the server's CPU at 3,000 checks/s).
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.host, self.service)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[CheckKey], tuple[str, str | None]]:
        # string hashes differ between processes: a copy computes its own
        return (CheckKey, (self.host, self.service))

    @property
    def is_host(self) -> bool:
        return self.service is None

    def __str__(self) -> str:
        return self.host if self.service is None else f"{self.host}/{self.service}"

    @classmethod
    def parse(cls, text: str) -> CheckKey:
        host, sep, service = text.partition("/")
        return cls(host, service if sep else None)


def page_path(key: CheckKey) -> str:
    """The path of a host's or service's page in the web UI, names percent-encoded (a '/' in
    a service name too). Here, not in web/, because notifications link to the same pages."""
    host = quote(key.host, safe="")
    if key.service is None:
        return f"/host/{host}"
    return f"/service/{host}/{quote(key.service, safe='')}"


SHARED_TEXT_MAX = 64


def shared_text(text: str) -> str:
    """One object for all equal short texts (perfdata labels, units, ranges) read from a plugin
    or a worker: every check keeps its last result, and a new "time" and "s" in each added up."""
    return sys.intern(text) if len(text) <= SHARED_TEXT_MAX else text


_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
SHARED_TUPLES_MAX = 1 << 16


def shared_tuple(value: tuple[str, ...]) -> tuple[str, ...]:
    """One object for all equal tuples of names (tag and group lists, a check's perfdata
    labels): a few dozen repeat across thousands of hosts and services. Bounded: past the
    bound a new one is its own (a config of all-distinct lists shares none beyond it)."""
    found = _TUPLES.get(value)
    if found is not None:
        return found
    if len(_TUPLES) < SHARED_TUPLES_MAX:
        _TUPLES[value] = value
    return value


@dataclass(frozen=True, slots=True)
class PerfDatum:
    """One performance-data item: 'label'=value[uom];warn;crit;min;max."""

    label: str
    value: float | None  # None for the plugin's literal 'U' (could not be determined)
    uom: str = ""
    warn: str | None = None  # raw range text, parsed by augenmass.core.thresholds when needed
    crit: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check run produced. `status` is the raw 0..3 code; the engine maps it for hosts."""

    key: CheckKey
    status: int
    output: str
    long_output: str = ""
    perfdata: tuple[PerfDatum, ...] = ()
    started_at: float = 0.0
    duration: float = 0.0
    source: str = "scheduler"  # scheduler | passive | agent:<name> | simulate | check
    passive: bool = False
    truncated: bool = False
    notes: tuple[str, ...] = ()  # e.g. perfdata items that did not parse

    def __post_init__(self) -> None:
        # Every result is made here (runner, passive, agent, dead-man): configured secrets are
        # masked and bidi controls dropped before anything stores, shows or sends the text.
        for name in ("output", "long_output"):
            text = getattr(self, name)
            if text:
                clean = strip_bidi(REDACT(text))
                if clean is not text:
                    object.__setattr__(self, name, clean)


def _strip_bidi_fields(obj: object, names: tuple[str, ...]) -> None:
    """Free text (comments, authors) is kept without bidi controls, whoever entered it: the API,
    the UI, the command file or an old database row."""
    for name in names:
        text = getattr(obj, name)
        if text:
            clean = strip_bidi(text)
            if clean is not text:
                object.__setattr__(obj, name, clean)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    author: str
    comment: str
    at: float
    sticky: bool = False
    notify: bool = False
    persistent: bool = False
    expires_at: float | None = None

    def __post_init__(self) -> None:
        _strip_bidi_fields(self, ("author", "comment"))


@dataclass(frozen=True, slots=True)
class Downtime:
    """A scheduled downtime on one host or service.

    Fixed: in effect from start to end. Flexible: starts when the object enters a problem
    state inside [start, end] and lasts `duration` from then.
    """

    id: str
    key: CheckKey
    start: float
    end: float
    fixed: bool = True
    duration: float = 0.0
    author: str = ""
    comment: str = ""
    started_at: float | None = None  # when it actually took effect
    all_services: bool = False

    def __post_init__(self) -> None:
        _strip_bidi_fields(self, ("author", "comment"))


# What a state holds in `extra` unless the engine puts something there: one shared, read-only
# empty mapping instead of an empty dict in every state (thousands of them).
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def _no_extra() -> Mapping[str, Any]:
    return _NO_EXTRA


@dataclass(frozen=True, slots=True)
class CheckState:
    """Everything the engine remembers about one host or service (persisted by the store)."""

    key: CheckKey
    state: int = 0
    state_type: StateType = StateType.HARD
    attempt: int = 1
    checked: bool = False  # False = PENDING (no result yet)
    last_check: float = 0.0
    last_state_change: float = 0.0
    last_hard_state_change: float = 0.0
    last_hard_state: int = 0
    # When the current problem began: its first non-OK result, before the SOFT attempts. Kept
    # after the recovery, so the RECOVERY can still say it; 0.0: not known (stored by a version
    # without it).
    problem_since: float = 0.0
    output: str = ""
    long_output: str = ""
    perfdata: tuple[PerfDatum, ...] = ()
    # notification bookkeeping
    notification_number: int = 0
    last_notification: float = 0.0
    next_notification: float = 0.0
    notified_on: frozenset[int] = frozenset()
    # flapping
    state_history: tuple[int, ...] = ()
    is_flapping: bool = False
    percent_state_change: float = 0.0
    # handling
    acknowledgement: Acknowledgement | None = None
    host_problem_at_last_check: bool = False
    ok_streak: int = 0
    extra: Mapping[str, Any] = field(default_factory=_no_extra)  # engine-private, JSON-safe
    # notification_interval 0 and the problem was notified once: no reminders until a change
    no_more_notifications: bool = False
    downtime_depth: int = 0  # active downtimes on this object itself (not its host's)
    # ACKNOWLEDGEMENT/FLAPPING*/DOWNTIME* notifications waiting for the notification period
    held_notifications: tuple[str, ...] = ()


def problem_start(st: CheckState) -> float | None:
    """When the current problem began: its first non-OK result, not when it became HARD nor
    when it changed to another problem state. None without a problem; a state stored before
    `problem_since` existed counts from its last state change."""
    if not st.checked or st.state == 0:
        return None
    return st.problem_since or st.last_state_change


def shown_since(st: CheckState) -> float:
    """The "since" of a status list: a problem since it began, anything else since its last
    state change."""
    start = problem_start(st)
    return start if start is not None else st.last_state_change


@dataclass(frozen=True, slots=True)
class Event:
    """Something the engine decided. `kind`: state, notification, flapping_start, ..."""

    at: float
    kind: str
    key: CheckKey
    state: int
    state_type: StateType
    attempt: int
    output: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckJob:
    """What the scheduler hands a runner: one check to run now. Narrow on purpose, so the
    same job can run in an agent or a remote worker."""

    key: CheckKey
    check: Any  # augenmass.core.plan.CheckSpec (Any to keep this module free of plan imports)
    macros: Mapping[str, str]
    due_at: float = 0.0


# --- JSON codec for the dataclasses above (used by the store and simulate) -----------------


_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, float, bool, type(None))


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def to_jsonable(value: Any) -> Any:
    """Turn our dataclasses, enums, tuples and frozensets into JSON-safe values."""
    # Plain values first: this runs for every stored result, so the common case is cheap.
    if isinstance(value, _PLAIN) and not isinstance(value, Enum):
        return value
    if isinstance(value, CheckKey):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


Decoder = typing.Callable[[Any], Any]
_DECODERS: dict[type, tuple[tuple[str, Decoder], ...]] = {}


def _identity(raw: Any) -> Any:
    return raw


_ZERO = 0.0


def _to_float(raw: Any) -> Any:
    # A state read back at start-up keeps the fields no result changes (times of the last
    # notification, ...) for the whole run: their zeros are one object, not a float each.
    if raw == 0 and not isinstance(raw, bool):
        return _ZERO
    return float(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw


_EMPTY: dict[Any, Any] = {frozenset: frozenset(), tuple: ()}


def _collection(origin: Any, item: Decoder) -> Decoder:
    """A tuple or frozenset decoder; an empty one is the shared empty object (a new empty
    frozenset is 216 bytes, and every state read at start-up keeps its `notified_on`)."""
    empty = _EMPTY[origin]

    def decode(raw: Any) -> Any:
        if not raw:
            return empty
        return origin(raw) if item is _identity else origin(item(v) for v in raw)

    return decode


def _mapping(raw: Any) -> Any:
    # an empty map read back (a state's `extra`) is the shared read-only empty one
    return raw if raw else _NO_EXTRA


def _optional(inner: Decoder) -> Decoder:
    return lambda raw: None if raw is None else inner(raw)


def _decoder(tp: Any) -> Decoder:
    """Build, once per type, the function that turns JSON back into that type: decoding runs
    for every stored state at start-up, so the type hints are not re-read per value."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _optional(_decoder(inner[0]) if len(inner) == 1 else _identity)
    if tp is CheckKey:
        return CheckKey.parse
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return lambda raw: from_jsonable(tp, raw)
    if origin in (tuple, frozenset):
        return _collection(origin, _decoder(args[0]) if args else _identity)
    if origin is Mapping:
        return _mapping
    if tp is float:
        return _to_float
    return _identity


def _decoders(cls: type) -> tuple[tuple[str, Decoder], ...]:
    found = _DECODERS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))
        _DECODERS[cls] = found
    return found


T = typing.TypeVar("T")


def from_jsonable(cls: type[T], raw: Mapping[str, Any]) -> T:
    """Inverse of to_jsonable for one of the dataclasses here; unknown keys are ignored so an
    older store can be read by a newer engine."""
    assert dataclasses.is_dataclass(cls)
    kwargs = {
        name: (None if raw[name] is None else decode(raw[name]))
        for name, decode in _decoders(cls)
        if name in raw
    }
    return cls(**kwargs)
