"""Safe YAML reading: plain data plus a line for every key path, all problems collected.

libyaml's parser (through PyYAML) turns the text into events, and we build plain values from
them ourselves, in one pass:
- no tag can construct a Python object; scalars are resolved by YAML 1.2's core schema, so `no`
  and `on` stay text (as ruamel.yaml, which read the config before, resolved them);
- duplicate keys are reported with both lines instead of being silently overwritten;
- every limit is counted while reading, so an oversized or hostile config is refused after at
  most the work a legitimate one at the limit costs, with a message naming the limit: the size
  of a file and of all files together (before reading), the YAML values written, the values
  aliases copy (an alias bomb), the nesting depth.

50,000 services, each written out, are about 5 MB and 700,000 values; the limits leave room for
twice that. Building values from events instead of composing a node graph first is what makes
that fast: composing alone took ruamel.yaml 30 s for 50,000 services (bench/config_load.py).

Where.line falls back to a key path's parent, so `lines` holds an entry only where the line
differs from the parent's: a flow mapping written on one line costs one entry, not one a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from augenmass.config.paths import KeyPath, Where, format_path
from augenmass.core.errors import ConfigProblem

try:  # libyaml, in C: what makes a large config load in seconds
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - a PyYAML built without libyaml: same events, slower
    from yaml import SafeLoader as _Parser

MIB = 1024 * 1024
MAX_FILE_BYTES = 16 * MIB  # one file
MAX_CONFIG_BYTES = 64 * MIB  # all files of a config directory together
MAX_NODES = 1_500_000  # YAML values written (mappings, lists, scalars), all files together
MAX_ALIAS_VALUES = 500_000  # values copied by expanding aliases (`*name`, `<<: *name`)
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _TIMESTAMP = _TAG + "map", _TAG + "seq", _TAG + "timestamp"

# YAML 1.2 core schema, as ruamel.yaml's resolver for 1.2 has it (dates stay text).
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT_RE = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
_MAYBE_NOT_TEXT = frozenset("tTfF~nN-+.0123456789")
_BASES = {"0b": 2, "0o": 8, "0x": 16}


@dataclass(frozen=True, slots=True)
class YamlFile:
    file: str  # name shown in messages
    data: dict[str, Any]
    lines: dict[KeyPath, int]

    def where(self, *path: str | int) -> Where:
        return Where(self.file, self.lines, tuple(path))


@dataclass(slots=True)
class Budget:
    """What the files of one config have used of the limits so far."""

    nodes: int = 0
    alias_values: int = 0
    exceeded: bool = False  # a limit was reached: the config is refused


REJECTED: Any = object()  # a value with a forbidden tag: left out, its problem reported


class _Abort(Exception):
    """The file cannot be read on; `spent`: a limit of the whole config was reached."""

    def __init__(self, line: int, message: str, spent: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.spent = spent


class _Number(ValueError):
    pass


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits.lstrip("+-")
    base = _BASES.get(digits[:2], 10)
    if base != 10:
        digits = digits[2:]
    try:
        return sign * int(digits, base)
    except ValueError:  # "_" alone, or more digits than Python converts (4,300)
        raise _Number(f"not a usable number: {text[:40]!r}") from None


def _float(text: str) -> float:
    lowered = text.replace("_", "").lower()
    sign = -1.0 if lowered[:1] == "-" else 1.0
    lowered = lowered.lstrip("+-")
    if lowered == ".inf":
        return sign * float("inf")
    if lowered == ".nan":
        return float("nan")
    return sign * float(lowered)


# Plain texts up to this long are one object however often a config repeats them (a check's
# `type: http`, a var's `owner: team-web`, an expected `ok`): thousands of copies otherwise,
# each kept by the plan for the whole run.
SHARED_MAX = 24


def _plain(text: str) -> Any:
    """A plain (unquoted, untagged) scalar by the YAML 1.2 core schema."""
    if not text:
        return None
    if text[0] not in _MAYBE_NOT_TEXT:
        return text  # most scalars: names, addresses, commands
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if _FLOAT_RE.match(text):
        return _float(text)
    if _INT_RE.match(text):
        return _int(text)
    return text


def _tagged(tag: str, text: str) -> Any:
    """A scalar with an explicit tag (`!!int "5"`); only the plain data types are allowed."""
    if tag in (_STR, _TIMESTAMP, "!"):
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if tag == _INT and _INT_RE.match(text):
        return _int(text)
    if tag == _FLOAT and (_FLOAT_RE.match(text) or _INT_RE.match(text)):
        return _float(text)
    if tag in (_BOOL, _INT, _FLOAT):
        raise _Number(f"{text[:40]!r} is not a valid {tag.removeprefix(_TAG)}")
    raise _Number(f"YAML tag {tag!r} is not allowed")


def _is_scalar(value: Any) -> bool:
    return value is not None and not isinstance(value, dict | list)


def _copy(value: Any, count: list[int]) -> Any:
    count[0] += 1
    if isinstance(value, dict):
        return {key: _copy(item, count) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item, count) for item in value]
    return value


@dataclass(slots=True)
class _Anchor:
    value: Any
    path: KeyPath
    size: int  # values in it, i.e. what one alias of it copies


@dataclass
class _Builder:
    file: str
    next_event: Callable[[], Any]
    budget: Budget
    # key path -> line, only where the line differs from the path's parent (Where.line falls
    # back to the parent): a flow mapping written on one line costs one entry, not one a key
    lines: dict[KeyPath, int] = field(default_factory=dict)
    target: dict[KeyPath, int] | None = None  # where new entries go, when not into `lines`
    problems: list[ConfigProblem] = field(default_factory=list)
    anchors: dict[str, _Anchor] = field(default_factory=dict)
    building: set[str] = field(default_factory=set)  # anchors whose value is being read

    def _problem(self, event: Any, message: str, path: KeyPath = ()) -> None:
        line = event.start_mark.line + 1
        self.problems.append(ConfigProblem(self.file, line, format_path(path), message))

    def _count(self, event: Any) -> None:
        budget = self.budget
        budget.nodes += 1
        if budget.nodes > MAX_NODES:
            raise _Abort(
                event.start_mark.line + 1,
                f"more YAML values than the limit of {MAX_NODES:,} (mappings, lists and "
                "scalars, counted over all files of the config); reading stopped here",
                spent=True,
            )

    def value(self, event: Any, path: KeyPath, depth: int, at: int = 0) -> Any:
        """The value that starts with `event`; reads the rest of its events. `at`: the line
        `path` is found at; an entry below it on the same line is not stored (a flow mapping
        is one line: its keys need no entries of their own, Where.line falls back to it)."""
        kind = type(event)
        if kind is AliasEvent:
            return self._alias(event, path)
        self._count(event)
        if depth > MAX_DEPTH:
            raise _Abort(
                event.start_mark.line + 1, f"nesting deeper than the limit of {MAX_DEPTH} levels"
            )
        anchor = event.anchor
        if anchor is None:
            return self._node(kind, event, path, depth, at)
        self.building.add(anchor)
        before = self.budget.nodes + self.budget.alias_values
        value = self._node(kind, event, path, depth, at)
        self.building.discard(anchor)
        size = self.budget.nodes + self.budget.alias_values - before
        self.anchors[anchor] = _Anchor(value, path, size)
        return value

    def _node(self, kind: type, event: Any, path: KeyPath, depth: int, at: int) -> Any:
        if kind is ScalarEvent:
            return self._scalar(event, path)
        if kind is MappingStartEvent:
            return self._mapping(event, path, depth, at)
        return self._sequence(event, path, depth, at)

    def _scalar(self, event: Any, path: KeyPath) -> Any:
        tag = event.tag
        try:
            if tag is None:
                return _plain(event.value) if event.implicit[0] else event.value
            return _tagged(tag, event.value)
        except _Number as exc:
            self._problem(event, str(exc), path)
            return REJECTED

    def _tag_ok(self, event: Any, expected: str, path: KeyPath) -> bool:
        if event.tag in (None, "!", expected):
            return True
        self._problem(event, f"YAML tag {event.tag!r} is not allowed", path)
        return False

    def _skip(self, event: Any, path: KeyPath, depth: int) -> None:
        """Read (and count) a value that is left out; its lines must not replace the lines of
        the value that is kept (a duplicate key's)."""
        self._aside(event, path, depth, -1)

    def _aside(
        self, event: Any, path: KeyPath, depth: int, at: int
    ) -> tuple[Any, dict[KeyPath, int]]:
        """A value read with its line entries kept apart, for the caller to keep or drop."""
        outer = self.target
        aside: dict[KeyPath, int] = {}
        self.target = aside
        try:
            return self.value(event, path, depth, at), aside
        finally:
            self.target = outer

    def _mapping(self, start: Any, path: KeyPath, depth: int, at: int) -> Any:
        ok = self._tag_ok(start, _MAP, path)
        result: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        merged_lines: dict[KeyPath, int] = {}
        first_line: dict[str, int] = {}
        next_event, budget = self.next_event, self.budget
        lines = self.lines if self.target is None else self.target
        while True:
            key_event = next_event()
            key_kind = type(key_event)
            if key_kind is MappingEndEvent:
                break
            line = key_event.start_mark.line + 1
            if key_kind is ScalarEvent and key_event.tag in (None, "!", _STR):
                key = key_event.value
                if key == "<<" and key_event.tag is None and key_event.implicit[0]:
                    sources, source_lines = self._merge_sources(next_event(), path, depth, at)
                    merged += sources
                    merged_lines.update(source_lines)  # kept below for what is merged in
                    continue
            elif key_kind is AliasEvent and _is_scalar(self._anchored(key_event)):
                key = str(self._anchored(key_event))
            else:
                self._problem(key_event, "a key must be a plain name, not a list or mapping")
                self._skip(key_event, path, depth + 1)
                self._skip(next_event(), path, depth + 1)
                continue
            if key in first_line:
                self.problems.append(
                    ConfigProblem(
                        self.file,
                        line,
                        format_path(path + (key,)),
                        f"duplicate key {key!r} (first defined at line {first_line[key]})",
                    )
                )
                self._skip(next_event(), path + (key,), depth + 1)
                continue
            first_line[key] = line
            if line != at:
                lines[path + (key,)] = line
            event = next_event()
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None:
                # the common case, inline: a plain value (most of a config)
                budget.nodes += 1
                if budget.nodes > MAX_NODES:
                    self._count(event)
                text = event.value
                if text and text[0] not in _MAYBE_NOT_TEXT:
                    # _plain's first case, without the call: names, URLs; short ones shared
                    result[key] = intern(text) if len(text) <= SHARED_MAX else text
                else:
                    result[key] = _plain(text) if event.implicit[0] else text
                continue
            value = self.value(event, path + (key,), depth + 1, line)
            if value is not REJECTED:
                result[key] = value
        for source in merged:  # '<<' keys fill in only what the mapping does not set itself
            for key, value in source.items():
                result.setdefault(key, value)
        if merged_lines:  # and so do their lines
            cut = len(path)
            for sub, line in merged_lines.items():
                if sub[cut] not in first_line:
                    lines.setdefault(sub, line)
        return result if ok else REJECTED

    def _merge_sources(
        self, event: Any, path: KeyPath, depth: int, at: int
    ) -> tuple[list[dict[str, Any]], dict[KeyPath, int]]:
        """The mappings of a `<<` key, and their lines (the first source's win, as its keys do)."""
        if type(event) is SequenceStartEvent:
            self._count(event)
            items = []
            while type(item := self.next_event()) is not SequenceEndEvent:
                items.append((item, *self._aside(item, path, depth + 1, at)))
        else:
            items = [(event, *self._aside(event, path, depth + 1, at))]
        sources: list[dict[str, Any]] = []
        lines: dict[KeyPath, int] = {}
        for item, value, value_lines in items:
            if isinstance(value, dict):
                sources.append(value)
                for sub, line in value_lines.items():
                    lines.setdefault(sub, line)
            elif value is not REJECTED:
                self._problem(item, "'<<' merge needs a mapping or a list of mappings")
        return sources, lines

    def _sequence(self, start: Any, path: KeyPath, depth: int, at: int) -> Any:
        ok = self._tag_ok(start, _SEQ, path)
        result = []
        next_event, budget = self.next_event, self.budget
        lines = self.lines if self.target is None else self.target
        index = 0
        while type(event := next_event()) is not SequenceEndEvent:
            here = index
            index += 1
            line = event.start_mark.line + 1
            if line != at:
                lines[path + (here,)] = line
            if type(event) is ScalarEvent and event.tag is None and event.anchor is None:
                budget.nodes += 1  # inline, as in _mapping
                if budget.nodes > MAX_NODES:
                    self._count(event)
                text = event.value
                if text and text[0] not in _MAYBE_NOT_TEXT:
                    result.append(intern(text) if len(text) <= SHARED_MAX else text)
                else:
                    result.append(_plain(text) if event.implicit[0] else text)
                continue
            value = self.value(event, path + (here,), depth + 1, line)
            if value is not REJECTED:
                result.append(value)
        return result if ok else REJECTED

    def _anchored(self, event: Any) -> Any:
        anchor = self.anchors.get(event.anchor)
        return None if anchor is None else anchor.value

    def _alias(self, event: Any, path: KeyPath) -> Any:
        name = event.anchor
        line = event.start_mark.line + 1
        if name in self.building:
            raise _Abort(line, f"alias *{name} is inside the value it refers to (recursive alias)")
        anchor = self.anchors.get(name)
        if anchor is None:
            self._problem(event, f"unknown alias *{name} (no &{name} before it)", path)
            return REJECTED
        budget = self.budget
        # Refused before this copy is made: what an alias bomb costs stays within the limit
        # (500,000 values: about 0.6 s and 100 MB).
        if budget.alias_values + anchor.size > MAX_ALIAS_VALUES:
            raise _Abort(
                line,
                f"aliases copy more values than the limit of {MAX_ALIAS_VALUES:,} "
                f"(*{name} alone would copy {anchor.size:,}; alias bomb?); reading stopped here",
                spent=True,
            )
        count = [0]
        value = _copy(anchor.value, count)
        budget.alias_values += count[0]
        # the copy's values keep the lines of the anchor's (where they are written)
        lines = self.lines if self.target is None else self.target
        self._copy_lines(anchor.value, anchor.path, path, self._line_of(anchor.path), lines)
        return value

    def _line_of(self, path: KeyPath) -> int:
        """The line `path` is at (as Where.line finds it)."""
        for cut in range(len(path), 0, -1):
            line = self.lines.get(path[:cut])
            if line:
                return line
        return 0

    def _copy_lines(
        self, value: Any, source: KeyPath, path: KeyPath, at: int, lines: dict[KeyPath, int]
    ) -> None:
        items = (
            value.items()
            if isinstance(value, dict)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for key, item in items:
            line = self.lines.get(source + (key,), at)
            lines[path + (key,)] = line
            if isinstance(item, dict | list):
                self._copy_lines(item, source + (key,), path + (key,), line, lines)


def _read_text(path: Path, file: str) -> tuple[str | None, list[ConfigProblem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [ConfigProblem(file, 0, "", _too_big(size))]
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [ConfigProblem(file, 0, "", f"cannot read: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:  # grew between stat and read
        return None, [ConfigProblem(file, 0, "", _too_big(len(raw), "more than "))]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [ConfigProblem(file, line, "", "not valid UTF-8 text")]


def _too_big(size: int, more: str = "") -> str:
    return (
        f"file is {more}{size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes "
        f"({MAX_FILE_BYTES // MIB} MiB) per file: split it into several files in a directory"
    )


def parse_yaml(
    text: str, file: str, budget: Budget | None = None
) -> tuple[YamlFile | None, list[ConfigProblem]]:
    """Parse one YAML document into plain data. Returns (None, problems) when unusable."""
    parser = _Parser(text)
    builder = _Builder(file, parser.get_event, budget or Budget())
    try:
        data = _document(builder)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        detail = exc.problem or exc.context or "invalid YAML"
        return None, [
            *builder.problems,
            ConfigProblem(file, line, "", f"YAML syntax error: {detail}"),
        ]
    except yaml.YAMLError as exc:
        return None, [*builder.problems, ConfigProblem(file, 0, "", f"YAML error: {exc}")]
    except _Abort as exc:
        builder.budget.exceeded = exc.spent
        return None, [*builder.problems, ConfigProblem(file, exc.line, "", exc.message)]
    finally:
        parser.dispose()
    if data is None:
        return YamlFile(file, {}, {}), builder.problems
    if not isinstance(data, dict):
        return None, builder.problems
    return YamlFile(file, data, builder.lines), builder.problems


def _document(builder: _Builder) -> Any:
    """The one document of the stream (None when there is none or it is empty)."""
    next_event = builder.next_event
    next_event()  # stream start
    event = next_event()
    if type(event) is StreamEndEvent:
        return None
    assert type(event) is DocumentStartEvent
    root_event = next_event()
    data = builder.value(root_event, (), 0)
    next_event()  # document end
    after = next_event()
    if type(after) is not StreamEndEvent:
        raise _Abort(
            after.start_mark.line + 1,
            "more than one YAML document ('---'): put each in a file of its own",
        )
    if data is not None and not isinstance(data, dict):
        builder.problems.append(
            ConfigProblem(
                builder.file,
                root_event.start_mark.line + 1,
                "",
                "the top level must be a mapping of sections",
            )
        )
        return REJECTED
    return data


def load_yaml(
    path: Path, file: str, budget: Budget | None = None
) -> tuple[YamlFile | None, list[ConfigProblem]]:
    text, problems = _read_text(path, file)
    if text is None:
        return None, problems
    return parse_yaml(text, file, budget)
