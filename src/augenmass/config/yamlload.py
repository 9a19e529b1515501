"""Safe YAML reading: plain data plus a line for every key path, all problems collected.

We compose the node graph with ruamel.yaml and build plain values ourselves, so that no tag can
construct a Python object, aliases cannot blow up memory (we count every node we expand) and
duplicate keys are reported with both lines instead of being silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from augenmass.config.paths import KeyPath, Where, format_path
from augenmass.core.errors import ConfigProblem

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # after alias expansion; a real config has a few thousand
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = _TAG + "timestamp"  # dates stay text: "2026-12-24"
_MERGE = _TAG + "merge"


@dataclass(frozen=True, slots=True)
class YamlFile:
    file: str  # name shown in messages
    data: dict[str, Any]
    lines: dict[KeyPath, int]

    def where(self, *path: str | int) -> Where:
        return Where(self.file, self.lines, tuple(path))


REJECTED: Any = object()  # a value with a forbidden tag: left out, its problem reported


class _Abort(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[ConfigProblem] = []
        self.nodes = 0
        self._scalars = YAML(typ="safe", pure=True).constructor

    def _problem(self, node: Node, message: str, path: KeyPath = ()) -> None:
        line = node.start_mark.line + 1
        self.problems.append(ConfigProblem(self.file, line, format_path(path), message))

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Abort(
                node.start_mark.line + 1,
                f"document too large: more than {MAX_NODES} values after expanding aliases "
                "(alias bomb?)",
            )
        if depth > MAX_DEPTH:
            raise _Abort(
                node.start_mark.line + 1,
                f"nesting deeper than {MAX_DEPTH} levels (or a recursive alias)",
            )
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return self._sequence(node, path, depth)
        return self._scalar(node, path)

    def _tag_ok(self, node: Node, expected: str, path: KeyPath) -> bool:
        if node.tag == _TAG + expected:
            return True
        self._problem(node, f"YAML tag {node.tag!r} is not allowed", path)
        return False

    def _mapping(self, node: MappingNode, path: KeyPath, depth: int) -> Any:
        if not self._tag_ok(node, "map", path):
            return REJECTED
        result: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, path, depth))
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, "a key must be a plain name, not a list or mapping")
                continue
            key = str(key_node.value)
            if key in first_line:
                self.problems.append(
                    ConfigProblem(
                        self.file,
                        line,
                        format_path(path + (key,)),
                        f"duplicate key {key!r} (first defined at line {first_line[key]})",
                    )
                )
                continue
            first_line[key] = line
            self.lines[path + (key,)] = line
            value = self.build(value_node, path + (key,), depth + 1)
            if value is not REJECTED:
                result[key] = value
        for source in merged:  # '<<' keys fill in only what the mapping does not set itself
            for key, value in source.items():
                result.setdefault(key, value)
        return result

    def _merge_sources(self, node: Node, path: KeyPath, depth: int) -> list[dict[str, Any]]:
        items = node.value if isinstance(node, SequenceNode) else [node]
        sources = []
        for item in items:
            value = self.build(item, path, depth + 1)
            if isinstance(value, dict):
                sources.append(value)
            else:
                self._problem(item, "'<<' merge needs a mapping or a list of mappings")
        return sources

    def _sequence(self, node: SequenceNode, path: KeyPath, depth: int) -> Any:
        if not self._tag_ok(node, "seq", path):
            return REJECTED
        result = []
        for index, item in enumerate(node.value):
            self.lines[path + (index,)] = item.start_mark.line + 1
            value = self.build(item, path + (index,), depth + 1)
            if value is not REJECTED:
                result.append(value)
        return result

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag == _TIMESTAMP:
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, f"YAML tag {node.tag!r} is not allowed", path)
            return REJECTED
        return self._scalars.construct_object(node, deep=True)


def _read_text(path: Path, file: str) -> tuple[str | None, list[ConfigProblem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [ConfigProblem(file, 0, "", f"file is {size} bytes; the limit is 5 MiB")]
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        return None, [ConfigProblem(file, 0, "", f"cannot read: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:  # grew between stat and read
        return None, [ConfigProblem(file, 0, "", "file is larger than the 5 MiB limit")]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [ConfigProblem(file, line, "", "not valid UTF-8 text")]


def parse_yaml(text: str, file: str) -> tuple[YamlFile | None, list[ConfigProblem]]:
    """Parse one YAML document into plain data. Returns (None, problems) when unusable."""
    try:
        root = YAML(typ="safe", pure=True).compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        detail = exc.problem or exc.context or "invalid YAML"
        return None, [ConfigProblem(file, line, "", f"YAML syntax error: {detail}")]
    except YAMLError as exc:
        return None, [ConfigProblem(file, 0, "", f"YAML error: {exc}")]
    except RecursionError:
        return None, [ConfigProblem(file, 0, "", "YAML nesting is too deep")]
    if root is None:
        return YamlFile(file, {}, {}), []
    builder = _Builder(file)
    try:
        data = builder.build(root, (), 0)
    except _Abort as exc:
        return None, [ConfigProblem(file, exc.line, "", exc.message)]
    if not isinstance(data, dict):
        line = root.start_mark.line + 1
        builder.problems.append(
            ConfigProblem(file, line, "", "the top level must be a mapping of sections")
        )
        return None, builder.problems
    return YamlFile(file, data, builder.lines), builder.problems


def load_yaml(path: Path, file: str) -> tuple[YamlFile | None, list[ConfigProblem]]:
    text, problems = _read_text(path, file)
    if text is None:
        return None, problems
    return parse_yaml(text, file)
