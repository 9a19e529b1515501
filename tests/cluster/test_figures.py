"""How the workers' figures are shown: `augenmass status` (80 columns) and /metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from augenmass.api.metrics import _cluster_figures, _Out
from augenmass.cli.status import CLUSTER_FIGURES, worker_lines
from augenmass.control.answers import Health

ZONE = {
    "zone": "rechenzentrum-frankfurt-2",
    "workers": 3,
    "running": 17,
    "slots": 192,
    "load1": 1.25,
    "waiting": 4,
    "at_workers": 17,
    "sent": 123456,
    "results": 123400,
    "redelivered": 12,
    "expired": 2,
    "unanswered": 1,
    "ran_here": 5,
    "unconfirmed": 0,
}


def _write(data: Path, written_at: float, connected: bool = True) -> None:
    body = {"written_at": written_at, "connected": connected, "duplicates": 3, "zones": [ZONE]}
    (data / CLUSTER_FIGURES).write_text(json.dumps(body))


def test_status_shows_each_zone_in_80_columns(tmp_path: Path) -> None:
    _write(tmp_path, 1000.0)
    lines = worker_lines(tmp_path, 1002.0)
    assert lines[0] == "Workers (NATS connected)"
    row = lines[2].split()
    assert row == ["rechenzentrum", "3", "17/192", "1.25", "4", "12", "2", "1", "5"]
    assert lines[-1] == "duplicate answers ignored: 3"
    assert all(len(line) <= 80 for line in lines), lines


def test_status_says_when_the_figures_are_old_or_nats_is_away(tmp_path: Path) -> None:
    _write(tmp_path, 1000.0, connected=False)
    head = worker_lines(tmp_path, 1600.0)[0]
    assert "NOT CONNECTED" in head and "10m 0s old" in head, head


def test_without_workers_status_shows_nothing(tmp_path: Path) -> None:
    assert worker_lines(tmp_path, 0.0) == []
    (tmp_path / CLUSTER_FIGURES).write_text("{not json")
    assert worker_lines(tmp_path, 0.0) == []


def test_metrics_per_zone_pass_promtool() -> None:
    out = _Out()
    health = {"cluster": {"connected": True, "duplicates": 3, "refused": 0, "zones": [ZONE]}}
    _cluster_figures(out, health)  # type: ignore[arg-type]
    text = out.text()
    assert 'augenmass_workers{zone="rechenzentrum-frankfurt-2"} 3' in text
    assert 'augenmass_worker_jobs_expired_total{zone="rechenzentrum-frankfurt-2"} 2' in text
    assert "augenmass_nats_connected 1" in text
    empty = _Out()
    _cluster_figures(empty, Health())  # type: ignore[typeddict-item]
    assert empty.text() == "\n", "no cluster section: no worker families"
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing (apt-get install prometheus)")
        return
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), (
        checked.stdout + checked.stderr
    )
