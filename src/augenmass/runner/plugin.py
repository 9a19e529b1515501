"""External Nagios plugins: find the executable, run it, map exit code and output to a result.

Decisions (see also docs/semantics.md §0 and §1):
- Exit 0..3 is the state. Anything else gives the check's `exit_code_state` (UNKNOWN by default,
  like Icinga 2; Nagios uses CRITICAL) with the reason as output; the plugin's own text moves to
  the long output so nothing it said is lost.
- stderr is captured separately and never parsed for perfdata. If stdout is empty, stderr is
  the output; otherwise it is appended to the long output after a "[stderr]" line.
- Plugins get a small environment (PATH, HOME, USER, LANG/LC_ALL=C), not the server's: the
  server's environment may hold secrets.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from augenmass.core.childenv import DEFAULT_PATH as _DEFAULT_PATH
from augenmass.core.perfdata import parse_perfdata
from augenmass.core.pluginoutput import NO_OUTPUT, NO_OUTPUT_HOST, sanitize, split_output
from augenmass.runner.process import ProcessRun, run_process


@dataclass(frozen=True, slots=True)
class PluginOutcome:
    status: int
    output: str
    long_output: str = ""
    perfdata: tuple[object, ...] = ()
    notes: tuple[str, ...] = ()
    truncated: bool = False


class PluginLocator:
    """Finds `command[0]`: as given when it holds a '/', else in plugin_dirs, then in $PATH.
    Found paths are cached; a failed exec drops the entry again."""

    def __init__(self, plugin_dirs: Sequence[str]) -> None:
        self.plugin_dirs = tuple(plugin_dirs)
        self._cache: dict[str, str] = {}

    def locate(self, name: str) -> str | None:
        if "/" in name:
            return name
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        path_dirs = os.environ.get("PATH", _DEFAULT_PATH).split(os.pathsep)
        for folder in (*self.plugin_dirs, *path_dirs):
            candidate = os.path.join(folder or ".", name)
            if os.path.isfile(candidate):
                self._cache[name] = candidate
                return candidate
        return None

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)


def problem_before_exec(path: str) -> str | None:
    """Why `path` cannot run, or None. Checked before exec so the reason is exact."""
    if not os.path.exists(path):
        return f"plugin not found: {path}"
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        return f"plugin not executable: {path}"
    return None


def exec_error_text(path: str, exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        if os.path.exists(path):  # the script's interpreter (#! line) is missing
            return f"plugin cannot be started: {path}: interpreter not found"
        return f"plugin not found: {path}"
    if isinstance(exc, PermissionError):
        return f"plugin not executable: {path}"
    if isinstance(exc, ValueError):
        return f"plugin cannot be started: {path}: an argument contains a NUL byte"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"plugin cannot be started: {path}: {text}"


async def run_plugin(
    path: str,
    argv: Sequence[str],
    *,
    timeout: float,
    limit: int,
    timeout_state: int,
    exit_code_state: int,
    is_host: bool,
    env: Mapping[str, str],
) -> PluginOutcome:
    """Run an already located plugin. Raises OSError/ValueError only if it cannot be started."""
    run = await run_process([path, *argv[1:]], env, timeout, limit)
    return _outcome(run, path, timeout, limit, timeout_state, exit_code_state, is_host)


def _outcome(
    run: ProcessRun,
    path: str,
    timeout: float,
    limit: int,
    timeout_state: int,
    exit_code_state: int,
    is_host: bool,
) -> PluginOutcome:
    stdout, stderr = sanitize(run.stdout), sanitize(run.stderr)
    empty = NO_OUTPUT_HOST if is_host else NO_OUTPUT
    parsed = split_output(stdout if stdout.strip() else stderr, empty)
    long_output = parsed.long_output
    if stdout.strip() and stderr.strip():
        long_output = _join(long_output, "[stderr]\n" + stderr.strip("\n"))
    truncated = bool(run.stdout_dropped or run.stderr_dropped)
    if truncated:
        long_output = _join(long_output, f"… [output truncated at {limit} bytes]")
    perfdata, problems = parse_perfdata(parsed.perfdata)
    status, reason = _status(run, path, timeout, timeout_state, exit_code_state)
    output = parsed.output
    if reason is not None:
        long_output = _join(output if output != empty else "", long_output)
        output = reason
    return PluginOutcome(status, output, long_output, perfdata, tuple(problems), truncated)


def _status(
    run: ProcessRun, path: str, timeout: float, timeout_state: int, exit_code_state: int
) -> tuple[int, str | None]:
    """The state, and the reason text when it did not come from a 0..3 exit code."""
    if run.timed_out:
        return timeout_state, f"timed out after {timeout:g} s"
    code = run.returncode
    if code is None:
        return exit_code_state, "plugin could not be stopped or reaped"
    if 0 <= code <= 3:
        return code, None
    if code < 0:
        return exit_code_state, f"killed by {_signal_name(-code)}"
    if code == 127:
        return exit_code_state, f"plugin not found: {path} (exit code 127)"
    if code == 126:
        return exit_code_state, f"plugin not executable: {path} (exit code 126)"
    if 128 < code < 128 + 65:  # shells report a child killed by signal N as 128+N
        return exit_code_state, (
            f"exit code {code} out of bounds (a shell's code for {_signal_name(code - 128)})"
        )
    return exit_code_state, f"exit code {code} out of bounds"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)
