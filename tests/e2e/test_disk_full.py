"""The disk under the store fills up: checks and notifications go on, nothing is lost.

A real server on a small tmpfs the test mounts (as root; skipped with the reason elsewhere,
never under CI=true), ten services flipping every few seconds, a real SMTP server. The disk is
filled twice: the first time the server gives up its reserve and keeps writing; the second time
there is no reserve, so states, events and notification rows wait in memory (bounded, reported
in the health answer, the UI and the log) until the test frees the space."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from smalldisk import fill
from smalldisk import small_disk as mounted

from notify.helpers import MailServer

from .helpers import ServerProcess, cli, wait_for

pytestmark = pytest.mark.slow

SERVICES = 10
FLIP = """#!/bin/sh
# CRITICAL and OK in turn, every 3 seconds (OK for good once the test says stop)
if [ -e "$(dirname "$0")/stop" ]; then echo "flip OK"; exit 0; fi
if [ $(( $(date +%s) / 3 % 2 )) -eq 0 ]; then echo "flip OK"; exit 0; fi
echo "flip CRITICAL"; exit 2
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted(tmp_path / "disk", "24m") as mount:
        yield mount


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    from notify.helpers import free_port

    server = MailServer(free_port())
    server.accept()
    try:
        yield server
    finally:
        server.refuse()


def config(port: int, plugin: Path, reserve_mb: int) -> str:
    services = "\n".join(
        f"  - {{name: flip{n}, host: app, check_interval: 1s, max_check_attempts: 1,"
        f" check: {{type: plugin, command: [{plugin}]}}}}"
        for n in range(SERVICES)
    )
    return f"""
settings: {{max_check_spread: 1s, disk_reserve_mb: {reserve_mb}}}
notifications:
  smtp: {{host: 127.0.0.1, port: {port}, from: monitor@example.org, timeout: 3s}}
  group_wait: 1s
  group_interval: 0s
contacts:
  ops: {{email: ops@example.org}}
defaults: {{contacts: [ops]}}
hosts:
  app: {{address: 127.0.0.1}}
services:
{services}
"""


class Api:
    def __init__(self, server: ServerProcess, token: str) -> None:
        self.base, self.token = f"http://127.0.0.1:{server.port}", token

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            self.base + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())


def start(tmp_path: Path, data: Path, smtp: MailServer, reserve_mb: int) -> ServerProcess:
    plugin = tmp_path / "flip.sh"
    plugin.write_text(FLIP)
    plugin.chmod(0o755)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config(smtp.port, plugin, reserve_mb))
    server = ServerProcess(cfg, data)
    server.log = tmp_path / "server.log"  # the log must not need the full disk
    return server.start()


def mails_by_id(smtp: MailServer) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in smtp.received():
        out.setdefault(str(m.message["Message-ID"]), set()).add(m.text)
    return out


def test_checks_and_mail_go_on_while_the_disk_is_full_and_nothing_is_lost(
    tmp_path: Path, small_disk: Path, smtp: MailServer
) -> None:
    data = small_disk / "data"
    server = start(tmp_path, data, smtp, reserve_mb=4)
    try:
        assert (data / "augenmass.reserve").stat().st_size == 4 * 2**20
        out = cli("token", "create", "t", "--scope", "read", "--data", str(data), check=True)
        api = Api(server, out.stdout.strip())
        wait_for(lambda: len(smtp.received()) >= 1, 30, "the first mail")

        # 1. the disk fills: the reserve is given up and writing goes on
        fill(small_disk / "filler1")
        wait_for(lambda: "DISK FULL: gave up the disk reserve" in server.log.read_text(), 30, "")
        assert not (data / "augenmass.reserve").exists()
        wait_for(lambda: not server.health()["store"]["degraded"], 30, "writes to work again")

        # 2. it fills again, no reserve left: everything waits in memory, checks go on
        fill(small_disk / "filler2")
        wait_for(lambda: server.health()["store"]["degraded"], 60, "the store to fail")
        done = server.health()["scheduler"]["checks_completed"]
        mails = len(smtp.received())
        full_since = time.monotonic()
        wait_for(
            lambda: server.health()["scheduler"]["checks_completed"] >= done + 5 * SERVICES,
            30,
            "checks to go on while the disk is full",
        )
        # states stay current in memory: the API shows flips the store could not take
        seen = set()

        def both_states() -> bool:
            rows = api.get("/api/services")
            seen.update(r["state"] for r in rows if r["host"] == "app")
            return {"OK", "CRITICAL"} <= seen

        seen.clear()
        wait_for(both_states, 20, "the API to show the flips while the disk is full")
        health = server.health()
        store = health["store"]
        assert health["status"] == "degraded" and store["reserve"] == "given up"
        assert store["waiting"]["states"] >= 1 and store["waiting"]["events"] >= 2
        assert "full" in store["degraded_reason"]
        full_for = time.monotonic() - full_since
        # one line when it began, then one a minute: not one per batch
        failing_lines = server.log.read_text().count("store write failed")
        assert failing_lines <= 2, failing_lines  # one per outage (there were two)
        assert server.log.read_text().count("STORE STILL FAILING") <= 1 + full_for / 60
        assert len(smtp.received()) >= mails

        # 3. space comes back: what waited is written, the reserve is made anew
        (small_disk / "filler1").unlink()
        (small_disk / "filler2").unlink()
        freed = time.monotonic()
        wait_for(lambda: not server.health()["store"]["degraded"], 30, "the backlog to drain")
        drained = time.monotonic() - freed
        wait_for(lambda: (data / "augenmass.reserve").exists(), 30, "the reserve to come back")
        assert server.health()["store"]["waiting"] == {}
        assert drained < 30
        # the flips end; the last notifications go out before the server stops
        (tmp_path / "stop").touch()
        wait_for(lambda: settled(server) and pending_rows(data) == 0, 30, "the outbox to empty")
    finally:
        server.stop()

    # every notification the engine decided reached the mail, once per content
    notes = [e for e in history(data) if e.kind == "notification"]
    assert len(notes) >= 4
    by_id = mails_by_id(smtp)
    sends = Counter(str(m.message["Message-ID"]) for m in smtp.received())
    # no mail went out twice: not while its "sent" mark could not be written either
    assert max(sends.values()) == 1, sends.most_common(3)
    assert all(len(texts) == 1 for texts in by_id.values()), "a Message-ID with two contents"
    for n in range(SERVICES):
        mine = [e for e in notes if e.key.service == f"flip{n}"]
        assert mine, f"no notification for flip{n}"
    assert_every_notification_mailed(data, by_id)


def pending_rows(data: Path) -> int:
    import sqlite3

    con = sqlite3.connect(data / "augenmass.db", timeout=5)
    try:
        return int(
            con.execute("SELECT count(*) FROM notify_outbox WHERE status='pending'").fetchone()[0]
        )
    finally:
        con.close()


def settled(server: ServerProcess) -> bool:
    """Every check OK again (the last RECOVERY was decided)."""
    rows = server.status()
    return all(rows[f"app/flip{n}"]["state"] == "OK" for n in range(SERVICES))


def history(data: Path) -> list[Any]:
    import asyncio

    from augenmass.store import open_store

    async def read() -> list[Any]:
        store = await open_store(f"sqlite:///{data / 'augenmass.db'}")
        try:
            return list(reversed(await store.history(None, 0, 4e9, limit=100_000)))
        finally:
            await store.close()

    return asyncio.run(read())


def assert_every_notification_mailed(data: Path, by_id: dict[str, set[str]]) -> None:
    """Each outbox row is sent, and its Message-ID is one the SMTP server received."""
    import sqlite3

    con = sqlite3.connect(data / "augenmass.db")
    try:
        rows = con.execute("SELECT status, message_id FROM notify_outbox").fetchall()
    finally:
        con.close()
    assert rows
    assert {status for status, _ in rows} == {"sent"}, rows
    assert {mid for _, mid in rows} <= set(by_id)


def test_sigterm_while_the_disk_is_full_says_what_was_not_written(
    tmp_path: Path, small_disk: Path, smtp: MailServer
) -> None:
    data = small_disk / "data"
    server = start(tmp_path, data, smtp, reserve_mb=0)
    try:
        wait_for(lambda: "app/flip0" in server.status(), 20, "first results stored")
        fill(small_disk / "filler")
        wait_for(lambda: server.health()["store"]["degraded"], 60, "the store to fail")
        wait_for(lambda: server.health()["store"]["waiting"].get("events", 0) >= 2, 30, "events")
    finally:
        server.stop()  # SIGTERM
    assert server.proc is not None
    code = server.proc.returncode
    log = server.log.read_text()
    assert "STOPPED WITH DATA NOT WRITTEN to the store" in log
    line = next(ln for ln in log.splitlines() if "STOPPED WITH DATA NOT WRITTEN" in ln)
    assert "events" in line and "states" in line
    assert code == 0, log[-2000:]
