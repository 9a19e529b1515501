"""Key paths into the YAML tree and their line numbers, for `file:line: key.path: message`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from augenmass.core.errors import ConfigProblem
from augenmass.core.secrets import BIDI_CONTROLS

# a key holding a bidi control is named with it escaped (\u202e): shown raw, it would reorder
# the very message that points at it
_SHOW_BIDI = str.maketrans({ch: f"\\u{ord(ch):04x}" for ch in BIDI_CONTROLS})

KeyPath = tuple[str | int, ...]


def format_path(path: KeyPath) -> str:
    """('hosts', 'www1', 'parents', 0) -> 'hosts.www1.parents[0]'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text.translate(_SHOW_BIDI)


@dataclass(frozen=True, slots=True)
class Where:
    """A place in one file: its display name, its line map and a key path inside it."""

    file: str
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    path: KeyPath = ()

    def at(self, *more: str | int) -> Where:
        return Where(self.file, self.lines, self.path + more)

    @property
    def line(self) -> int:
        """The line of the longest prefix of `path` that has one (the key itself if known)."""
        path, lines = self.path, self.lines
        line = lines.get(path)  # most often the key itself: no slice for it
        if line:
            return line
        for cut in range(len(path) - 1, 0, -1):
            line = lines.get(path[:cut])
            if line:
                return line
        return 0

    def problem(self, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line, format_path(self.path), message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file
