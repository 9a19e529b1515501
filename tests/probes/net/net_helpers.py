"""Jobs for the network probe tests, and running a Monitoring Plugins program."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from net_servers import SipBehaviour, SipUdp

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey

NAGIOS = "/usr/lib/nagios/plugins"
SMTP_USER, SMTP_PASSWORD = "monitor", "s3cret-Sentinel-pw"
SipFactory = Callable[[SipBehaviour], Awaitable[tuple[int, SipUdp]]]
TcpFactory = Callable[..., Awaitable[int]]


def job(kind: str, options: Mapping[str, Any], timeout: float = 5.0) -> CheckJob:
    check = CheckSpec(kind, (), dict(options), timeout)
    return CheckJob(CheckKey("pbx", "svc"), check, {"HOSTADDRESS": "127.0.0.1"})


def need_program(path: str, package: str) -> None:
    """Skip with the reason when a comparison program is missing; under CI=true, fail."""
    if os.access(path, os.X_OK):
        return
    message = f"{path} is missing (Debian package {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def plugin_state(*argv: str, timeout: float = 20.0) -> tuple[int, str]:
    """Exit code and first line of a Monitoring Plugins program, run without a shell."""
    need_program(f"{NAGIOS}/{argv[0]}", "monitoring-plugins")
    process = await asyncio.create_subprocess_exec(
        f"{NAGIOS}/{argv[0]}",
        *argv[1:],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace").split("\n", 1)[0]
