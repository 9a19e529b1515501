"""Exception tree.

AugenmassError
├── ConfigError        one or more config problems, each with file, line and key path
├── StoreError         the store could not be read or written
│   └── DataPathError  a path of the data directory is of the wrong kind or not accessible
└── CheckSetupError    a check cannot even be started (not a check *result*)
"""

from __future__ import annotations

from dataclasses import dataclass


class AugenmassError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    file: str
    line: int
    path: str  # key path, e.g. "hosts.www1.parents[0]"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(AugenmassError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(AugenmassError):
    pass


class DataPathError(StoreError):
    """The data directory, or a file the server keeps in it, is of the wrong kind (a file where
    a directory belongs, or the reverse) or not readable/writable. Said in one line, naming the
    path; never taken for a damaged database (nothing is moved aside for it)."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class CheckSetupError(AugenmassError):
    pass
