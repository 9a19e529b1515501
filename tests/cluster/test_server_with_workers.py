"""The real server with a real worker process: a zone's checks run on its worker, the rest on
the server, and `augenmass status` and /api/health show the workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from natsserver import NatsServer

from e2e.helpers import ServerProcess, cli, wait_for

from .helpers import prefix, shell_plugin

pytestmark = pytest.mark.slow


def test_a_zone_runs_on_its_worker_and_the_rest_on_the_server(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    plugin = shell_plugin(tmp_path / "where.sh", 'echo "OK ran by $PPID"\n')
    config = tmp_path / "c.yaml"
    config.write_text(f"""
settings: {{max_check_spread: 1s}}
cluster:
  nats: {{url: "{nats_server.url}", prefix: {pfx}, ack_wait: 2s}}
  zones: [dc1]
hosts:
  near: {{address: 127.0.0.1, check: none}}
  far: {{address: 127.0.0.1, zone: dc1, check: none}}
services:
  - {{name: where, host: near, check_interval: 1s, check: {{type: plugin, command: ["{plugin}"]}}}}
  - {{name: where, host: far, check_interval: 1s, check: {{type: plugin, command: ["{plugin}"]}}}}
""")
    server = ServerProcess(config, tmp_path / "data")
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "augenmass",
            "worker",
            "--nats",
            nats_server.url,
            "--zone",
            "dc1",
            "--prefix",
            pfx,
            "--name",
            "dc1-a",
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        server.start()
        mine = f"OK ran by {worker.pid}"
        wait_for(
            lambda: server.status()["far/where"]["output"] == mine,
            30,
            "far's check run by the dc1 worker",
        )
        near = server.status()["near/where"]["output"]
        assert near.startswith("OK ran by ") and near != mine, "the default zone: the server"
        health = wait_for(
            lambda: (h := server.health()).get("cluster", {}).get("connected") and h,
            15,
            "the cluster figures in /api/health",
        )
        zones = {z["zone"]: z for z in health["cluster"]["zones"]}
        assert zones["dc1"]["workers"] == 1 and zones["dc1"]["results"] >= 1
        assert zones["default"]["workers"] == 0 and zones["default"]["ran_here"] >= 1
        text = wait_for(
            lambda: "dc1" in (out := cli("status", "--data", str(server.data)).stdout) and out,
            15,
            "the workers in augenmass status",
        )
        assert "Workers (NATS connected)" in text
        assert all(len(line) <= 80 for line in text.splitlines() if "dc1" in line)
        # the worker stops cleanly on SIGTERM (the server's fall-back: test_flow.py)
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(20) == 0
        worker_log = (tmp_path / "worker.log").read_text()
        assert "worker stopped" in worker_log
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)
        log.close()
        server.stop()
