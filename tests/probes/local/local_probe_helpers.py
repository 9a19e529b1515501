"""Helpers for the local probe tests: jobs for the runner, skip-or-fail, fd counting."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mailqueue"
RECORDED = FIXTURES / "postqueue-j.jsonl"


def need(condition: bool, reason: str) -> None:
    """Skip when a service or privilege is missing; under CI=true that is a failure."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def job(
    kind: str,
    options: Mapping[str, Any] | None = None,
    *,
    macros: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> CheckJob:
    check = CheckSpec(kind, (), dict(options or {}), timeout)
    return CheckJob(CheckKey("host1", kind), check, dict(macros or {}))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def script(folder: Path, name: str, body: str) -> str:
    """An executable shell script; returns its path."""
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)
