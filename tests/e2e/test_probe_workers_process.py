"""Probe worker processes of the real server: started when needed, shown in health, gone with
the server."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from .helpers import ServerProcess, wait_for

pytestmark = pytest.mark.slow


def free_udp_port() -> int:
    """A UDP port nothing answers on (an SNMP agent that is not there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    # Probes with counters always run in a worker, each service's in the same one: 16 of them
    # start both workers (all 16 on one: a chance of 1 in 30,000). A tcp check alone would
    # start none on a server this idle.
    udp = free_udp_port()
    cfg.write_text(
        "settings: {max_check_spread: 1s, probe_workers: 2}\n"
        "hosts:\n  app: {address: 127.0.0.1}\nservices:\n"
        + "".join(
            f"  - {{name: if{i}, host: app, check_interval: 1s, check: {{type: snmp-interface,"
            f" port: {udp}, interface: '{i}', retries: 0, timeout: 1s}}}}\n"
            for i in range(16)
        )
    )
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
