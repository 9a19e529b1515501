"""Replay of 72 hours of buffered results: how fast an agent catches up after an outage, and
what that costs the server's own checks.

50 checks x 1/min x 72 h = 216,000 results are written into the agent's SQLite buffer with the
agent's own Buffer (its schema, epoch and row format; bodies from wire.result_body), their
measured_at spread over the past 72 h in the order the agent would have written them. The real
server runs 200 dummy services of its own at 10 s (and the agent's 50 checks at 1 min; raw
retention 7 d and max ages of 4 d, so nothing of the replay is refused or pruned). Then the
real `augenmass agent` starts. Measured: time until its buffer is empty (GET /api/agents) and
the points are at the server (counted in its database), results/s, server and agent CPU, and
the server's scheduler lateness (GET /api/health, 60 s window) before and during the replay.

    .venv/bin/python bench/bench_agent_replay.py [--hours 72] [--limit 900] [--profile FILE]

--profile runs the server under cProfile (slower; for where the time goes, not the figures).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from agentbench import (  # noqa: E402
    cpu_seconds,
    free_port,
    health,
    machine,
    points,
    start_agent,
    start_server,
    stop,
    token,
)

from augenmass.agent.buffer import Buffer  # noqa: E402
from augenmass.agent.wire import result_body  # noqa: E402
from augenmass.core.values import CheckKey, CheckResult  # noqa: E402

CHECKS = 50
LOCAL = 200
BASELINE = 60.0  # one full lateness window before the agent starts


def config() -> str:
    agent_svcs = [
        f"  - {{name: a{i:02d}, host: office-pc, check_interval: 60s,"
        f" check: {{type: dummy, output: ok, perfdata: 'v={i}'}}}}"
        for i in range(CHECKS)
    ]
    local_svcs = [
        f"  - {{name: l{i:03d}, host: local, check_interval: 10s, check: {{type: dummy}}}}"
        for i in range(LOCAL)
    ]
    return (
        "settings: {max_check_spread: 10s, passive_max_age: 4d, self_metrics_interval: 1h,"
        " retention: {raw: 7d}}\n"
        "agents:\n  office: {max_age: 4d}\n"
        "hosts:\n  office-pc: {address: 127.0.0.1, agent: office}\n"
        "  local: {address: 127.0.0.1}\n"
        "services:\n" + "\n".join(agent_svcs + local_svcs) + "\n"
    )


def fill(path: Path, hours: float, now: float) -> int:
    """The outage's results, as the agent would have buffered them (oldest first)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    buf = Buffer(path)  # schema, epoch, file mode: the agent's own
    start = now - hours * 3600 + 120  # the oldest a little inside the window
    rows = []
    for minute in range(int(hours * 60)):
        for i in range(CHECKS):
            at = start + minute * 60 + i * 1.2
            result = CheckResult(
                key=CheckKey("office-pc", f"a{i:02d}"),
                status=0,
                output="ok",
                perfdata=(),
                started_at=at,
                duration=0.001,
            )
            body = result_body(result)
            body["perfdata"] = f"v={i}"
            rows.append((at, json.dumps(body, separators=(",", ":"))))
    # One transaction: Buffer.add commits (and fsyncs) each row, 216,000 times; the rows
    # written are the same.
    db = buf._db  # noqa: SLF001
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO results (measured_at, body) VALUES (?, ?)", rows)
    db.execute("COMMIT")
    count = len(buf)
    buf.close()
    return count


def lateness(port: int) -> tuple[float, float]:
    s = health(port)["scheduler"]
    return float(s["lateness_p99"] or 0.0), float(s["lateness_max"] or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=72.0)
    parser.add_argument("--limit", type=float, default=900.0)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    (tmp / "augenmass.yaml").write_text(config())
    data = tmp / "server"
    t = time.monotonic()
    filled = fill(tmp / "agent" / "buffer.db", args.hours, time.time())
    print(f"buffer: {filled} results written in {time.monotonic() - t:.1f} s")
    print(f"start: {machine()}")
    server = start_server(tmp / "augenmass.yaml", data, port, args.profile)
    agent = None
    try:
        reader = token(data, "reader", "--scope", "read")
        (tmp / "token").write_text(token(data, "office", "--agent", "office"))
        time.sleep(BASELINE)
        before = lateness(port)
        print(f"before: lateness p99 {before[0]:.3f} s, max {before[1]:.3f} s (60 s window)")
        srv_cpu0 = cpu_seconds(server.pid)
        t0 = time.monotonic()
        agent = start_agent(port, tmp / "token", tmp / "agent")
        p99s: list[float] = []
        maxes: list[float] = []
        buffered = filled
        headers = {"Authorization": f"Bearer {reader}"}
        agent_cpu = 0.0
        while time.monotonic() - t0 < args.limit:
            time.sleep(2)
            p99, worst = lateness(port)
            p99s.append(p99)
            maxes.append(worst)
            agent_cpu = cpu_seconds(agent.pid)
            got = httpx.get(f"http://127.0.0.1:{port}/api/agents", headers=headers, timeout=10)
            status = got.json()[0]
            if status["last_seen"] is not None:
                buffered = int(status["buffered"])
            # the agent reports what it held when it sent the batch: a small remainder is
            # its own new results, sent within a second
            if status["last_seen"] is not None and buffered < CHECKS:
                break
        took = time.monotonic() - t0
        srv_cpu = cpu_seconds(server.pid) - srv_cpu0
        stored = points(data, "office-pc")
        print(
            f"replay: {filled - buffered} of {filled} results in {took:.1f} s"
            f" (from the agent's start, its start-up included):"
            f" {(filled - buffered) / took:.0f} results/s; {stored} points stored at the server"
        )
        print(
            f"CPU during the replay: server {srv_cpu:.1f} s"
            f" ({1000 * srv_cpu / max(1, filled - buffered):.2f} ms per result),"
            f" agent {agent_cpu:.1f} s"
        )
        print(
            f"during: lateness p99 median {statistics.median(p99s):.3f} s,"
            f" highest p99 {max(p99s):.3f} s, max {max(maxes):.3f} s ({len(p99s)} samples)"
        )
        print(f"end: {machine()}")
    finally:
        stop(agent)
        stop(server)


if __name__ == "__main__":
    main()
