"""The CLI goes by the clock it is invoked with: downtimes and acknowledgement expiry are
computed from it (the system clock when run as `augenmass`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakeclock import FakeClock
from typer.testing import CliRunner

from augenmass.cli.main import app
from augenmass.server.spool import pending


def queued(data: Path, clock: FakeClock, *args: str) -> dict[str, Any]:
    before = set(pending(data))
    out = CliRunner().invoke(app, [*args, "--data", str(data)], obj=clock)
    assert out.exit_code == 0, out.output
    [path] = set(pending(data)) - before
    command: dict[str, Any] = json.loads(path.read_text())
    return command


def test_downtime_and_acknowledgement_times_come_from_the_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    now = clock.now()
    down = queued(tmp_path, clock, "downtime", "www1", "--start-in", "30m", "--duration", "2h")
    assert (down["start"], down["end"]) == (now + 1800, now + 1800 + 7200)
    ack = queued(tmp_path, clock, "acknowledge", "www1", "website", "--expires", "4h")
    assert ack["expires"] == now + 4 * 3600
