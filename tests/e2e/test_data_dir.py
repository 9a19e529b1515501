"""The data directory: one server at a time, and files only the server's user can read."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from augenmass.server.spool import submit

from .helpers import CLI, ServerProcess, free_port, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s}
hosts: {app: {address: 127.0.0.1}}
services:
  - {name: broken, host: app, check_interval: 1s, max_check_attempts: 1,
     check: {type: dummy, state: critical, output: disk on fire}}
"""


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    return cfg


def _run(cfg: Path, data: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    listen = f"127.0.0.1:{free_port()}"
    return subprocess.run(
        [*CLI, "run", "--config", str(cfg), "--data", str(data), "--listen", listen],
        capture_output=True,
        text=True,
        timeout=30,
        umask=umask,
    )


def test_a_second_server_on_the_same_data_is_refused_and_the_first_keeps_running(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    first = ServerProcess(cfg, tmp_path / "data").start()
    try:
        assert first.proc is not None
        pid_file = first.data / "augenmass.pid"
        assert pid_file.read_text() == f"{first.proc.pid}\n"

        second = _run(cfg, first.data)
        assert second.returncode == 1  # not 2: the configuration is fine
        assert f"pid {first.proc.pid}" in second.stderr
        assert "another augenmass server" in second.stderr
        # the loser touched nothing: the first one's pid file is there and it still serves
        assert pid_file.read_text() == f"{first.proc.pid}\n"
        assert first.health()["status"] == "ok"

        # kill -9 leaves the lock file behind, but not the lock: the next start succeeds
        first.kill9()
        assert (first.data / "augenmass.lock").exists()
        first.start()
        assert pid_file.read_text() == f"{first.proc.pid}\n"
        assert first.health()["services"] == 1
    finally:
        first.stop()


def test_every_file_in_the_data_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    data = tmp_path / "data"
    # An earlier, looser run left a readable directory and files behind.
    (data / "commands").mkdir(parents=True)
    data.chmod(0o755)
    (data / "commands").chmod(0o755)
    leftover = data / "augenmass.db.handling.json"
    leftover.write_text('{"version": 1, "acks": {}, "downtimes": {}}')
    leftover.chmod(0o644)

    old = os.umask(0o022)
    try:
        # the command line spools as whoever runs it, with their umask
        spooled = submit(data, {"action": "downtime", "host": "app", "duration": 7200})
    finally:
        os.umask(old)
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600

    # the first admin is often added before the server ever ran: it creates the database
    added = subprocess.run(
        [*CLI, "user", "add", "admin", "--role", "admin", "--password-stdin", "--data", str(data)],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert added.returncode == 0, added.stderr

    port = free_port()
    log = tmp_path / "server.log"  # outside the data directory: it is the test's file
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [*CLI, "run", "--config", str(cfg), "--data", str(data)]
            + ["--listen", f"127.0.0.1:{port}"],
            stdout=logf,
            stderr=logf,
            umask=0o022,
            start_new_session=True,
        )
    try:
        # the spooled downtime is applied: the sidecar is rewritten, the WAL is in use
        wait_for(lambda: not any((data / "commands").glob("*.json")), 30, "the command")
        wait_for(lambda: "app" in leftover.read_text(), 30, "the sidecar with the downtime")
        wait_for(lambda: (data / "augenmass.db-wal").exists(), 30, "the WAL file")
        names = {p.name for p in data.iterdir()}
        assert {
            "augenmass.db",
            "augenmass.db-wal",
            "augenmass.db-shm",
            "augenmass.db.handling.json",
            "augenmass.pid",
            "augenmass.lock",
            "commands",
        } <= names, names
        loose = []
        for path in [data, *data.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            if mode & ~wanted:
                loose.append(f"{path.relative_to(tmp_path)} {mode:o}")
        assert not loose, loose
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
