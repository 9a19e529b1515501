"""A probe's deadline: the http probe ends by its timeout on its own (the runner adds no hard
stop of its own); a probe that does not say so is still stopped half a second after it, with the
check's timeout state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import pytest

from augenmass.core.clock import SystemClock
from augenmass.probes import ProbeSet
from augenmass.probes.base import ProbeOutcome
from augenmass.runner.probecall import PROBE_GRACE, call_probe


async def test_a_silent_web_server_is_critical_after_the_checks_timeout(silent_port: int) -> None:
    options = MappingProxyType({"url": f"http://127.0.0.1:{silent_port}/", "host": "127.0.0.1"})
    t0 = time.monotonic()
    got = await call_probe(ProbeSet(SystemClock()), "http", options, 0.5, 3)
    assert got.status == 2 and got.output == "HTTP CRITICAL - timed out after 0.5 s", got
    assert time.monotonic() - t0 >= 0.45


class Stuck:
    type = "stuck"
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")


async def test_a_probe_that_overruns_is_stopped_with_the_timeout_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probes = ProbeSet(SystemClock())
    monkeypatch.setitem(probes._loaded, "stuck", Stuck())  # a probe that ignores its budget
    t0 = time.monotonic()
    got = await call_probe(probes, "stuck", {}, 0.2, 3)
    assert got == ProbeOutcome(3, "timed out after 0.2 s")
    assert time.monotonic() - t0 >= 0.2 + PROBE_GRACE - 0.05
