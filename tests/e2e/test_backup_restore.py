"""Backup of a server under write load, restore into a fresh data directory, serve from it."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ServerProcess, cli, free_port, wait_for

pytestmark = pytest.mark.slow

FLIP = """#!/bin/sh
# OK for two seconds, CRITICAL for two: every check can change state
if [ $(( $(date +%s) / 2 % 2 )) -eq 0 ]; then echo "up | v=1"; exit 0; fi
echo "down | v=0"
exit 2
"""

METRICS, FLIPS = 30, 6


def write_config(path: Path, plugin: Path) -> None:
    hosts = "".join(f"  m{i:02d}: {{address: 127.0.0.1, tags: [m]}}\n" for i in range(METRICS))
    hosts += "".join(f"  f{i}: {{address: 127.0.0.1, tags: [f]}}\n" for i in range(FLIPS))
    # nothing listens on the SMTP port: notifications stay in the outbox, retried
    path.write_text(f"""
# hosts assumed UP (no default ping): the stored states are the services' alone
settings: {{max_check_spread: 1s, default_host_check: none}}
notifications:
  smtp: {{host: 127.0.0.1, port: {free_port()}, security: none, from: mon@example.org}}
contacts:
  ops: {{email: ops@example.org}}
contact_groups:
  team: [ops]
hosts:
  app: {{address: 127.0.0.1}}
{hosts}
services:
  - name: broken
    host: app
    check_interval: 1s
    max_check_attempts: 1
    check: {{type: dummy, state: critical, output: "disk on fire"}}
  - name: metric
    hosts: {{tag: m}}
    check_interval: 1s
    check: {{type: dummy, state: ok, output: fine, perfdata: "load=0.5;2;4 users=3"}}
  - name: flip
    hosts: {{tag: f}}
    check_interval: 1s
    retry_interval: 1s
    max_check_attempts: 1
    notify: [team]
    check: {{type: plugin, command: [{plugin}]}}
""")


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tables(db: Path) -> list[str]:
    names = rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return sorted(n for (n,) in names if not n.startswith("sqlite_"))


def api(server: ServerProcess, path: str, token: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Path, list[ServerProcess]]]:
    plugin = tmp_path / "flip.sh"
    plugin.write_text(FLIP)
    plugin.chmod(0o755)
    cfg = tmp_path / "augenmass.yaml"
    write_config(cfg, plugin)
    started: list[ServerProcess] = []
    yield cfg, started
    for s in started:
        s.stop()


def test_backup_under_load_restores_exactly_and_a_server_serves_it(
    tmp_path: Path, servers: tuple[Path, list[ServerProcess]]
) -> None:
    cfg, started = servers
    data = tmp_path / "data"
    db = data / "augenmass.db"
    made = cli("token", "create", "reader", "--scope", "read", "--data", str(data))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    server = ServerProcess(cfg, data)
    started.append(server)
    server.start()
    wait_for(lambda: server.status().get("app/broken", {}).get("state_type") == "HARD", 30, "HARD")
    assert cli("acknowledge", "app", "broken", "-m", "on it", "--data", str(data)).returncode == 0
    wait_for(lambda: server.status()["app/broken"]["acknowledged"], 30, "the acknowledgement")
    # under load: state changes, notifications in the outbox, perfdata every second
    wait_for(
        lambda: (
            rows(db, "SELECT count(*) FROM event WHERE kind = 'state'")[0][0] >= 4 * FLIPS
            and rows(db, "SELECT count(*) FROM notify_outbox")[0][0] >= FLIPS
        ),
        60,
        "state changes and outbox rows",
    )

    backup = tmp_path / "backups" / "augenmass.backup"
    backup.parent.mkdir()
    began = time.time()
    out = cli("backup", str(backup), "--data", str(data))
    ended = time.time()
    assert out.returncode == 0, out.stderr
    assert f"{backup.stat().st_size:,} bytes" in out.stdout and " s " in out.stdout
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert server.health()["status"] == "ok"  # the server kept going

    refused = cli("restore", str(backup), "--data", str(data))
    assert refused.returncode == 1
    assert "running" in refused.stderr
    # the server kept writing: the live store moved on past the snapshot
    snapshot = rows(backup, "SELECT count(*) FROM event")[0][0]
    wait_for(lambda: rows(db, "SELECT count(*) FROM event")[0][0] > snapshot, 30, "events after it")
    server.stop()

    fresh = tmp_path / "restored"
    out = cli("restore", str(backup), "--data", str(fresh))
    assert out.returncode == 0, out.stderr
    restored = fresh / "augenmass.db"
    assert rows(restored, "PRAGMA integrity_check") == [("ok",)]
    assert tables(restored) == tables(backup)
    for table in tables(backup):  # every table, row by row (states, events, outbox, ...)
        want = sorted(rows(backup, f"SELECT * FROM {table}"), key=repr)
        assert sorted(rows(restored, f"SELECT * FROM {table}"), key=repr) == want, table
    assert rows(backup, "SELECT count(*) FROM check_state")[0][0] == 1 + METRICS + FLIPS
    assert rows(backup, "SELECT count(*) FROM notify_outbox")[0][0] >= FLIPS
    (newest,) = rows(restored, "SELECT max(at) FROM event")[0]
    assert began - 5 <= newest <= ended, (began, newest, ended)

    kept = {
        (h, s): (st, change, checked)
        for h, s, st, change, checked in rows(
            backup, "SELECT host, service, state, last_state_change, last_check FROM check_state"
        )
    }
    again = ServerProcess(cfg, fresh)
    started.append(again)
    again.start()
    broken = api(again, "/services/app/broken", token)  # the token came back with the backup
    assert broken["state"] == "CRITICAL" and broken["acknowledged"] is True
    assert broken["last_state_change"] == kept[("app", "broken")][1]
    metric = api(again, "/services/m07/metric", token)
    assert metric["state"] == "OK"
    assert metric["last_state_change"] == kept[("m07", "metric")][1]
    # the backup's last check, or a newer one: (a first result's state change is stamped when
    # it is taken in, its check when it started, so the change may be the later of the two)
    assert metric["last_check"] >= kept[("m07", "metric")][2]
