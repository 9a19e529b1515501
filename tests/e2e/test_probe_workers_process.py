"""Probe worker processes of the real server: shown in health, gone with the server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from .helpers import ServerProcess, wait_for

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_workers_end_with_the_server(tmp_path: Path, how: str) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text("""
settings: {max_check_spread: 1s, probe_workers: 2}
hosts:
  app: {address: 127.0.0.1}
services:
  - name: port
    host: app
    check_interval: 1s
    check: {type: tcp, port: 9}
""")
    server = ServerProcess(cfg, tmp_path / "data").start()
    try:
        workers = wait_for(
            lambda: server.health()["probe_workers"]["alive"] == 2,
            20,
            "two probe workers",
        )
        assert workers
        assert server.proc is not None
        pids = children(server.proc.pid)
        assert len(pids) == 2
        commands = [Path(f"/proc/{p}/cmdline").read_text() for p in pids]
        assert all("augenmass.runner.worker" in c for c in commands)
        # only the server itself, not its process group: the workers must notice on their own
        server.proc.send_signal(getattr(signal, how))
        server.proc.wait(timeout=30)
        wait_for(lambda: not any(alive(p) for p in pids), 10, "the workers to exit")
    finally:
        server.stop()
