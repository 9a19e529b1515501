"""Dead-man checks on the fake clock: a real Server, its scheduler's freshness timer and the
engine, with time moved by hand (a day in a test)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fakeclock import FakeClock

from augenmass.api import actions
from augenmass.core.values import CheckKey
from augenmass.server import server as server_module
from augenmass.server.control import Control
from augenmass.server.server import Server

# 2023-11-14 22:13:20 UTC; Berlin is UTC+1 then (CET)
START = 1_700_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR
BACKUP = CheckKey("nas", "backup")
CONFIG = """
settings: {probe_workers: 0, timezone: Europe/Berlin, passive_max_age: 2d}
hosts:
  nas: {address: 127.0.0.1}
services:
  - name: backup
    host: nas
    expect_every: 1d
    grace: 2h
  - name: rsync
    host: nas
    expect_every: 1h
    missing_state: warning
"""


@pytest.fixture
async def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Server, FakeClock]]:
    # A day of one-second ticks costs a minute of CPU; the dead-man timer is the scheduler's
    # freshness timer, not the tick, so a slower tick changes nothing the test looks at.
    monkeypatch.setattr(server_module, "TICK_SECONDS", 60.0)
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    clock = FakeClock(start_wall=START, settle_rounds=5)
    srv = Server(cfg, tmp_path / "data", clock=clock)
    await srv.start()
    try:
        yield srv, clock
    finally:
        await srv.stop()


def _state(srv: Server, key: CheckKey = BACKUP) -> tuple[int, str, str]:
    st = srv.engine.states.get(key)
    if st is None or not st.checked:
        return -1, "", ""
    return st.state, str(st.state_type), st.output


async def test_a_missing_run_goes_critical_after_expect_every_plus_grace(
    server: tuple[Server, FakeClock],
) -> None:
    srv, clock = server
    control = Control(srv)
    await clock.advance(HOUR)  # the cron job runs an hour after the server started
    ran_at = clock.now()
    answer = await actions.submit_result(control, BACKUP, 0, "backup done")
    assert answer.applied
    assert _state(srv) == (0, "HARD", "backup done")

    await clock.advance(DAY + 2 * HOUR - 5)  # the next run is late, but within the grace
    assert _state(srv)[0] == 0

    await clock.advance(10)
    state, state_type, output = _state(srv)
    assert (state, state_type) == (2, "HARD")  # one missing run is a fact: HARD at once
    # as a reader sees it in Berlin (datetime rounds to the microsecond: the fake clock's
    # sums of sleeps may leave ran_at a hair below the full second)
    when = datetime.fromtimestamp(ran_at, ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S")
    assert output == f"no result since {when} CET (expected every 1d + grace 2h)"

    # Still nothing a day later: the same "since", not the time of the last missing report.
    await clock.advance(DAY + 2 * HOUR)
    assert _state(srv)[2] == output

    # The job runs again: OK at once.
    answer = await actions.submit_result(control, BACKUP, 0, "backup done again")
    assert answer.applied
    assert _state(srv)[:2] == (0, "HARD")


async def test_never_a_result_counts_from_the_start_and_check_now_does_not_fake_one(
    server: tuple[Server, FakeClock],
) -> None:
    srv, clock = server
    rsync = CheckKey("nas", "rsync")
    assert srv.scheduler.check_now(rsync)  # asked early: nothing to report yet
    await clock.advance(30 * 60)
    assert _state(srv, rsync) == (-1, "", "")
    await clock.advance(30 * 60 + 1)
    state, _, output = _state(srv, rsync)
    assert state == 1  # missing_state: warning
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(START + HOUR))
    assert output == f"no result since {since} CET (expected every 1h)"


async def test_check_now_after_a_fresh_result_changes_nothing(
    server: tuple[Server, FakeClock],
) -> None:
    srv, clock = server
    await actions.submit_result(Control(srv), BACKUP, 1, "backup slow")
    await clock.advance(HOUR)
    assert srv.scheduler.check_now(BACKUP)
    await clock.advance(1)
    assert _state(srv)[::2] == (1, "backup slow")
