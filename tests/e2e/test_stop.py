"""A normal stop is quiet: SIGTERM to the server, SIGTERM to all its processes (what systemd
does), Ctrl-C in a terminal (SIGINT to the whole process group) end it with exit code 0 and
not one ERROR or WARNING line, probe workers included."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from .helpers import ServerProcess, free_port, wait_for

pytestmark = pytest.mark.slow


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "augenmass.yaml"
    # snmp-interface remembers counters between runs, so it always runs in a probe worker
    # (started for it); tcp runs in the server's loop while it is not busy. Both get an
    # answer-less port: a result (CRITICAL or UNKNOWN) within a second, nothing to wait for
    # outside this machine.
    cfg.write_text(f"""
settings: {{max_check_spread: 1s, probe_workers: 1}}
hosts: {{app: {{address: 127.0.0.1}}}}
services:
  - {{name: port, host: app, check_interval: 1s, check: {{type: tcp, port: {free_port()}}}}}
  - name: uplink
    host: app
    check_interval: 1s
    check: {{type: snmp-interface, port: {_free_udp_port()}, interface: "1", retries: 0,
            timeout: 1s}}
  - {{name: fine, host: app, check_interval: 1s, check: {{type: dummy, state: ok}}}}
""")
    return cfg


@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)],
    ids=["SIGTERM-to-the-server", "SIGTERM-to-every-process", "Ctrl-C"],
)
def test_a_normal_stop_exits_0_and_logs_no_error_or_warning(
    tmp_path: Path, sig: signal.Signals, whole_group: bool
) -> None:
    server = ServerProcess(_config(tmp_path), tmp_path / "data").start()
    try:
        assert server.proc is not None
        wait_for(lambda: server.health()["probe_workers"]["alive"] == 1, 20, "the probe worker")
        wait_for(
            lambda: all(row["last_check"] for row in server.status().values()),
            30,
            "a result of every check, the worker's included",
        )
        if whole_group:
            # The server leads its own process group (ServerProcess starts a new session): this
            # reaches it and its probe workers at once, as a terminal's Ctrl-C or systemd does.
            os.killpg(server.proc.pid, sig)
        else:
            server.proc.send_signal(sig)
        code = server.proc.wait(timeout=30)
    finally:
        server.stop()
    log = server.log.read_text()
    assert code == 0, log
    loud = [line for line in log.splitlines() if "level=error" in line or "level=warning" in line]
    assert not loud, log
    assert "msg=stopped" in log
