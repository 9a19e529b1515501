"""YAML configuration -> Plan. Every problem is collected and raised together as ConfigError.

plan = load_config("conf.d")        # a file, or a directory of *.yaml / *.yml
print(summarize(plan))
"""

from __future__ import annotations

import contextlib
import gc
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

from augenmass.config import secretset
from augenmass.config.periods import BUILTIN as BUILTIN_NAMES
from augenmass.config.resolve import Built, Resolver
from augenmass.config.sections import collect
from augenmass.config.yamlload import MAX_CONFIG_BYTES, MIB, Budget, YamlFile, load_yaml
from augenmass.core.errors import ConfigError, ConfigProblem
from augenmass.core.plan import Plan
from augenmass.core.secrets import REDACT
from augenmass.notify.channels.email import clear_text_auth

__all__ = ["Built", "load", "load_config", "require_hosts", "summarize"]

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


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Loading allocates a million small containers and frees none of them: each pass of the
    cyclic garbage collector walks them all again and found nothing, yet cost a fifth of the
    time of a 50,000-service load. Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(path: str | Path) -> Built:
    """The Plan plus warnings (e.g. apply rules matching no host). Raises ConfigError."""
    with _no_cycle_collection():
        problems, built = _load(Path(path))
    if problems or built is None:
        # no message quotes a secret field (validation.py); configured secrets quoted in any
        # other way are masked as well (the secrets of this config and of the running one)
        unique = [
            ConfigProblem(p.file, p.line, p.path, REDACT(p.message))
            for p in dict.fromkeys(problems)
        ]
        unique.sort(key=lambda p: (p.file, p.line))
        raise ConfigError(unique)
    secretset.install(secretset.plan_secrets(built.plan))
    clear_auth = clear_text_auth(built.plan.notifications.smtp)
    if clear_auth:
        built.warnings.append(clear_auth)
    built.warnings[:] = [REDACT(w) for w in built.warnings]
    return built


def _load(path: Path) -> tuple[list[ConfigProblem], Built | None]:
    files, problems = _files(path)
    total = sum(_size(file_path) for file_path, _ in files)
    if total > MAX_CONFIG_BYTES:  # refused before reading any of them
        message = (
            f"the {len(files)} files are {total:,} bytes together; the limit is "
            f"{MAX_CONFIG_BYTES:,} bytes ({MAX_CONFIG_BYTES // MIB} MiB)"
        )
        return [ConfigProblem(str(path), 0, "", message)], None
    budget = Budget()
    parsed: list[YamlFile] = []
    for file_path, shown in files:
        yf, file_problems = load_yaml(file_path, shown, budget)
        problems.extend(file_problems)
        if yf is not None:
            parsed.append(yf)
        if budget.exceeded:  # the limits are for the whole config: the next file has none left
            return problems, None
    # before resolving: a config that fails still has its secrets masked in its errors
    secretset.install(secretset.raw_secrets(yf.data for yf in parsed))
    sections = collect(parsed, problems)
    return problems, Resolver(sections, problems).plan()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported when it is read
        return 0


def require_hosts(plan: Plan, path: str | Path) -> None:
    """Refuse a plan without hosts (raises ConfigError). An empty or truncated file, a wrong
    directory or a half-finished edit all load as "no hosts": run or reloaded, that would stop
    every check without a word. Who means it says so (`--allow-empty`)."""
    if not plan.hosts:
        message = (
            "no hosts are defined, so nothing would be monitored: refused (start the server "
            "with --allow-empty if that is meant)"
        )
        raise ConfigError([ConfigProblem(str(path), 0, "hosts", message)])


def load_config(path: str | Path) -> Plan:
    built = load(path)
    for warning in built.warnings:
        log.warning("%s", warning)
    return built.plan


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _hosts(plan: Plan) -> str:
    """e.g. '12 hosts (9 by the default host check, 1 without check: assumed UP)': which hosts
    are checked by settings.default_host_check is not visible in their own config."""
    by_default = sum(1 for h in plan.hosts.values() if h.default_check)
    unchecked = sum(1 for h in plan.hosts.values() if h.check is None)
    notes = [f"{by_default} by the default host check"] if by_default else []
    if unchecked:
        notes.append(f"{unchecked} without check: assumed UP")
    text = _count(len(plan.hosts), "host")
    return f"{text} ({', '.join(notes)})" if notes else text


def summarize(plan: Plan) -> str:
    """e.g. '12 hosts (9 by the default host check), 31 services, 4 contacts, 3 contact
    groups, 2 time periods'."""
    periods = [name for name in plan.timeperiods if name not in BUILTIN_NAMES]
    return ", ".join(
        (
            _hosts(plan),
            _count(len(plan.services), "service"),
            _count(len(plan.contacts), "contact"),
            _count(len(plan.contact_groups), "contact group"),
            _count(len(periods), "time period"),
        )
    )
