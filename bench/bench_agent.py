"""RSS and CPU of `augenmass agent` with 50 checks (the issue's targets: under 60 MB, and
little CPU at 1-minute intervals).

Starts a real server on 127.0.0.1 with an agent that runs 50 checks (40 dummy probes, 10 TCP
probes against the server's own port) and the real `augenmass agent` process; samples the
agent's RSS from /proc each second and its CPU (utime + stime from /proc/PID/stat) from the end
of start-up to the end of the run.

    .venv/bin/python bench/bench_agent.py [--seconds 300] [--interval 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from agentbench import (  # noqa: E402
    cpu_seconds,
    free_port,
    health,
    machine,
    start_agent,
    start_server,
    stop,
    token,
)
from procstat import rss_mb  # noqa: E402

WARMUP = 10.0  # start-up (imports, first fetch of the checks) is not the steady state


def config(port: int, interval: int) -> str:
    services = [
        f"  - {{name: d{i}, host: office-pc, check_interval: {interval}s,"
        f" check: {{type: dummy, state: 0, output: ok, perfdata: 'v={i}'}}}}"
        for i in range(40)
    ] + [
        f"  - {{name: t{i}, host: office-pc, check_interval: {interval}s,"
        f" check: {{type: tcp, port: {port}}}}}"
        for i in range(10)
    ]
    return (
        f"settings: {{max_check_spread: {interval}s}}\n"
        "agents:\n  office: {}\n"
        "hosts:\n  office-pc: {address: 127.0.0.1, agent: office}\n"
        "services:\n" + "\n".join(services) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--interval", type=int, default=60)
    args = parser.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    (tmp / "augenmass.yaml").write_text(config(port, args.interval))
    data = tmp / "server"
    print(f"start: {machine()}")
    server = start_server(tmp / "augenmass.yaml", data, port)
    agent = None
    try:
        (tmp / "token").write_text(token(data, "office", "--agent", "office"))
        agent = start_agent(port, tmp / "token", tmp / "agent")
        time.sleep(WARMUP)
        after_start = rss_mb(agent.pid)
        cpu0, t0 = cpu_seconds(agent.pid), time.monotonic()
        samples: list[float] = [after_start]
        end = t0 + args.seconds
        while time.monotonic() < end:
            time.sleep(1)
            samples.append(rss_mb(agent.pid))
        cpu = cpu_seconds(agent.pid) - cpu0
        minutes = (time.monotonic() - t0) / 60
        checks = health(port)["services"]
        print(
            f"agent RSS after start-up {after_start:.1f} MB, peak {max(samples):.1f} MB,"
            f" at the end {samples[-1]:.1f} MB over {args.seconds:.0f} s"
            f" ({checks} checks every {args.interval} s)"
        )
        print(
            f"agent CPU {cpu:.2f} s in {minutes:.1f} min: {cpu / minutes:.3f} CPU-s per minute"
            f" ({100 * cpu / (minutes * 60):.2f} % of one core)"
        )
        print(f"end: {machine()}")
    finally:
        stop(agent)
        stop(server)


if __name__ == "__main__":
    main()
