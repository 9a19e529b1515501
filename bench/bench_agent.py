"""RSS of `augenmass agent` with 50 checks (the issue's target: under 60 MB).

Starts a real server on 127.0.0.1 with an agent that runs 50 checks (40 dummy probes, 10 TCP
probes against the server's own port) at 5 s intervals - busier than the 1-minute target - and
the real `augenmass agent` process; samples the agent's RSS from /proc for the run's length.

    .venv/bin/python bench/bench_agent.py [seconds]
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
CLI = [sys.executable, "-m", "augenmass"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    services = (
        "\n".join(
            f"  - {{name: d{i}, host: office-pc, check_interval: 5s,"
            f" check: {{type: dummy, state: 0, output: ok, perfdata: 'v={i}'}}}}"
            for i in range(40)
        )
        + "\n"
        + "\n".join(
            f"  - {{name: t{i}, host: office-pc, check_interval: 5s,"
            f" check: {{type: tcp, port: {port}}}}}"
            for i in range(10)
        )
    )
    config = tmp / "augenmass.yaml"
    config.write_text(
        "settings: {max_check_spread: 5s}\n"
        "agents:\n  office: {}\n"
        "hosts:\n  office-pc: {address: 127.0.0.1, agent: office}\n"
        f"services:\n{services}\n"
    )
    data = tmp / "server"
    server = subprocess.Popen(
        [
            *CLI,
            "run",
            "--config",
            str(config),
            "--data",
            str(data),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    agent = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = subprocess.run(
            [*CLI, "token", "create", "office", "--agent", "office", "--data", str(data)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (tmp / "token").write_text(token)
        agent = subprocess.Popen(
            [
                *CLI,
                "agent",
                "--server",
                f"http://127.0.0.1:{port}",
                "--token-file",
                str(tmp / "token"),
                "--data",
                str(tmp / "agent"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        samples: list[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(1)
            samples.append(rss_mb(agent.pid))
        checks = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5).json()
        print(
            f"agent RSS after start-up: {samples[4]:.1f} MB, peak {max(samples):.1f} MB,"
            f" at the end {samples[-1]:.1f} MB over {seconds:.0f} s (50 checks every 5 s)"
        )
        print(f"server: {checks['services']} services")
    finally:
        for proc in (agent, server):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)


if __name__ == "__main__":
    main()
