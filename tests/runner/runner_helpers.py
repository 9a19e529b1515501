"""Helpers for the runner tests: jobs, plugin scripts, process inspection."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey
from augenmass.runner import Runner

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
NAGIOS = "/usr/lib/nagios/plugins"


def job(
    command: Sequence[str] = (),
    *,
    type: str = "plugin",
    options: Mapping[str, Any] | None = None,
    macros: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    key: CheckKey | None = None,
    **spec: Any,
) -> CheckJob:
    check = CheckSpec(type, tuple(command), dict(options or {}), timeout, **spec)
    return CheckJob(key or CheckKey("web1", "svc"), check, dict(macros or {}))


def make_runner(output_limit: int = 65536) -> Runner:
    return Runner([str(PLUGINS), NAGIOS], output_limit)


def write_plugin(folder: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def my_children() -> list[tuple[int, str]]:
    """(pid, state) of every direct child of this test process, zombies included."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me:
            found.append((int(entry), fields[0]))
    return found


async def gone(pid: int, within: float = 2.0) -> bool:
    """True once `pid` has died; SIGKILL delivery is asynchronous, so allow a bounded wait."""
    for _ in range(int(within / 0.01)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.01)
    return not alive(pid)
