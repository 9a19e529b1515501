"""A reload loads the new config and builds its jobs outside the event loop: checks keep being
started while it loads (issue 17: a reload of 10,000 hosts held every check up for seconds).
How long a reload takes and how late checks get meanwhile is measured in bench/startup.py."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from augenmass.core.plan import Plan
from augenmass.server import server as server_module
from augenmass.server.server import Server

CONFIG = """
settings: {max_check_spread: 1s}
hosts:
  app: {address: 127.0.0.1, check: none}
services:
  - name: tick
    host: app
    check_interval: 1s
    check: {type: dummy, state: ok, output: fine}
"""
ADDED = """  - name: added
    host: app
    check_interval: 1s
    check: {type: dummy, state: ok, output: also fine}
"""


async def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.02)


async def test_checks_go_on_while_a_reload_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG)
    loading = threading.Event()  # the reload's load has begun (in whichever thread)
    release = threading.Event()  # the test lets it finish
    threads: list[int] = []
    real_load = server_module.load_config

    def held_load(path: Path) -> Plan:
        threads.append(threading.get_ident())
        loading.set()
        # a stand-in for a long load; bounded so a broken server cannot hang the suite
        assert release.wait(30), "the test never released the load"
        return real_load(path)

    server = Server(config, tmp_path / "data")
    await server.start()
    try:
        await _until(lambda: server.scheduler.stats.checks_started >= 1, 10, "a first check")
        monkeypatch.setattr(server_module, "load_config", held_load)
        config.write_text(CONFIG + ADDED)
        switch = sys.getswitchinterval()
        with caplog.at_level(logging.INFO, logger="augenmass.server"):
            reload = asyncio.create_task(server.reload())
            await _until(loading.is_set, 10, "the reload to begin loading")
            started = server.scheduler.stats.checks_started
            # the load is held: were it on the event loop, nothing below could happen
            await _until(
                lambda: server.scheduler.stats.checks_started >= started + 2,
                10,
                "checks started while the reload loads",
            )
            assert not reload.done()
            release.set()
            assert await asyncio.wait_for(reload, 30)
        assert threads and threads[0] != threading.get_ident()
        assert sys.getswitchinterval() == switch  # given back after the load
        assert len(server.plan.services) == 2
        await _until(
            lambda: any(
                st.output == "also fine" for k, st in server.engine.states.items() if k.service
            ),
            10,
            "the added service's first result",
        )
        line = next(r for r in caplog.records if r.getMessage() == "reloaded")
        assert {"load_s", "apply_s"} <= set(vars(line))  # the figures an operator reads
    finally:
        release.set()
        await server.stop()


async def test_the_switch_interval_is_given_back_after_any_reload(tmp_path: Path) -> None:
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG)
    server = Server(config, tmp_path / "data")
    await server.start()
    try:
        switch = sys.getswitchinterval()
        config.write_text(CONFIG + "  - name: typo\n    host: app\n    chek_interval: 1s\n")
        assert not await server.reload()
        assert sys.getswitchinterval() == switch
        assert len(server.plan.services) == 1  # the old config keeps running
        config.write_text(CONFIG + ADDED)
        assert await asyncio.gather(server.reload(), server.reload()) == [True, True]
        assert sys.getswitchinterval() == switch  # also after two at once
        assert len(server.plan.services) == 2
    finally:
        await server.stop()
