"""Every async probe test runs twice: on asyncio's own loop and on uvloop, the loop the server
runs on. Their transports differ in corner cases a probe meets (a TLS peer that answers in plain
text once timed out on uvloop only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import uvloop


def pytest_asyncio_loop_factories(
    config: Any, item: Any
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
