"""A server of its own store (SQLite) starts its first checks before the store, the engine and
the notifications are made (issue 17: the first check of 10,000 hosts came 0.5 s sooner);
their results wait for those and count as any other. (A server that may be a standby on a
shared store schedules only once it knows: tests/cluster_ha.) The store's opening is held
here until a check has started, so the order cannot be a matter of luck; bounded waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import augenmass.store
from augenmass.core.values import CheckKey
from augenmass.server import server as server_module
from augenmass.server.server import Server

CONFIG = """
settings: {max_check_spread: 1ms}
hosts:
  app: {address: 127.0.0.1, check: none}
services:
  - name: first
    host: app
    check_interval: 1h
    check: {type: dummy, state: warning, output: came early}
"""
FIRST = CheckKey("app", "first")


async def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.01)


def _held_open(
    server: Server, seen: dict[str, Any], fail: bool = False
) -> Callable[..., Awaitable[Any]]:
    """open_store that waits (bounded) for the server's first check to have started."""
    real = augenmass.store.open_store

    async def held(*args: Any, **kwargs: Any) -> Any:
        assert threading.current_thread() is threading.main_thread()
        await _until(
            lambda: hasattr(server, "scheduler") and server.scheduler.stats.checks_started >= 1,
            10,
            "a check started before the store is open",
        )
        seen["started_before_store"] = server.scheduler.stats.checks_started
        if fail:
            raise OSError("the store cannot be opened (test)")
        return await real(*args, **kwargs)

    return held


async def test_first_checks_start_before_the_store_and_their_results_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG)
    server = Server(config, tmp_path / "data")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(augenmass.store, "open_store", _held_open(server, seen))
    await server.start()
    try:
        assert seen["started_before_store"] == 1
        # the early result waited for the engine, then was applied and stored like any other
        await _until(lambda: server.engine.state(FIRST).checked, 10, "the early result applied")
        state = server.engine.state(FIRST)
        assert (state.state, state.output) == (1, "came early")
        await server.writer.flush()
        stored = (await server.store.load()).states[FIRST]
        assert (stored.state, stored.output) == (1, "came early")
        assert server.scheduler.stats.checks_started == 1  # once: the next is an hour away
    finally:
        await server.stop()


async def test_a_store_that_fails_ends_the_checks_started_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG.replace("1h", "50ms"))
    server = Server(config, tmp_path / "data")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(augenmass.store, "open_store", _held_open(server, seen, fail=True))
    with pytest.raises(OSError, match="cannot be opened"):
        await server.start()
    started = server.scheduler.stats.checks_started
    assert started >= 1
    await asyncio.sleep(0.3)  # six intervals: a scheduler still running would start more
    assert server.scheduler.stats.checks_started == started
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "scheduler"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://augenmass@127.0.0.1/test",
        "postgresql+asyncpg://augenmass@127.0.0.1/test",
        "postgres://augenmass@127.0.0.1/test",
        "sqlite:////var/lib/augenmass/augenmass.db",
        "/var/lib/augenmass/augenmass.db",
    ],
)
def test_the_server_tells_a_shared_store_as_the_store_does(url: str) -> None:
    """Only a store of its own is scheduled early: the server tells them apart by the URL
    without importing the store, so it must agree with the store (a standby must not act)."""
    from augenmass.store.database import sqlite_path

    shared = url.startswith(server_module.SHARED_STORE_PREFIXES)
    assert shared == (sqlite_path(url) is None)
