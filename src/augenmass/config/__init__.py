"""YAML configuration -> Plan. Every problem is collected and raised together as ConfigError.

plan = load_config("conf.d")        # a file, or a directory of *.yaml / *.yml
print(summarize(plan))
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from augenmass.config.periods import BUILTIN as BUILTIN_NAMES
from augenmass.config.resolve import Built, Resolver
from augenmass.config.sections import collect
from augenmass.config.yamlload import YamlFile, load_yaml
from augenmass.core.errors import ConfigError, ConfigProblem
from augenmass.core.plan import Plan

__all__ = ["Built", "load", "load_config", "summarize"]

log = logging.getLogger(__name__)
_SUFFIXES = (".yaml", ".yml")


def _files(path: Path) -> tuple[list[tuple[Path, str]], list[ConfigProblem]]:
    # One line for a path that cannot be read (a directory this user may not list, one under
    # a file), as for any other config problem: not a traceback.
    try:
        is_dir = stat.S_ISDIR(path.stat().st_mode)
        if is_dir:
            found = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return [], [ConfigProblem(str(path), 0, "", "no such file or directory")]
    except OSError as exc:
        return [], [ConfigProblem(str(path), 0, "", f"cannot read: {exc.strerror or exc}")]
    if not is_dir:
        return [(path, str(path))], []
    if not found:
        return [], [ConfigProblem(str(path), 0, "", "no *.yaml or *.yml files in directory")]
    return [(p, f"{path.name}/{p.name}") for p in found], []


def load(path: str | Path) -> Built:
    """The Plan plus warnings (e.g. apply rules matching no host). Raises ConfigError."""
    files, problems = _files(Path(path))
    parsed: list[YamlFile] = []
    for file_path, shown in files:
        yf, file_problems = load_yaml(file_path, shown)
        problems.extend(file_problems)
        if yf is not None:
            parsed.append(yf)
    sections = collect(parsed, problems)
    built = Resolver(sections, problems).plan()
    if problems:
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.file, p.line))
        raise ConfigError(unique)
    return built


def load_config(path: str | Path) -> Plan:
    built = load(path)
    for warning in built.warnings:
        log.warning("%s", warning)
    return built.plan


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def summarize(plan: Plan) -> str:
    """e.g. '12 hosts, 31 services, 4 contacts, 3 contact groups, 2 time periods'."""
    periods = [name for name in plan.timeperiods if name not in BUILTIN_NAMES]
    return ", ".join(
        (
            _count(len(plan.hosts), "host"),
            _count(len(plan.services), "service"),
            _count(len(plan.contacts), "contact"),
            _count(len(plan.contact_groups), "contact group"),
            _count(len(periods), "time period"),
        )
    )
