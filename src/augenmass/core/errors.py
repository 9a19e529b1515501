"""Exception tree.

AugenmassError
├── ConfigError        one or more config problems, each with file, line and key path
├── StoreError         the store could not be read or written
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


class CheckSetupError(AugenmassError):
    pass
