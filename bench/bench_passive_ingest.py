"""Ingest rate of passive results over HTTP: results/s at the server and server CPU per result.

The real server on 127.0.0.1 with 500 passive services (and 500 run by an agent named office);
the clients here send over TCP with httpx, a bounded count each:

1. `POST /api/actions/process-check-result`, one result a request, N parallel clients
   (keep-alive connections, a `submit` token);
2. `POST /api/agent/results`, 500 results a batch, as the agent sends them (its token; an
   agent's batches are taken one at a time, so more clients for one agent only queue).

Server CPU is utime + stime of the server process from /proc/PID/stat over each run. The
clients share the 2 cores with the server, so the rates are what one machine does with both.

    .venv/bin/python bench/bench_passive_ingest.py [--results 6000] [--clients 1,4,16]
        [--profile FILE]

--profile runs the server under cProfile (slower; for where the time goes, not the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from agentbench import cpu_seconds, free_port, machine, start_server, stop, token  # noqa: E402

SERVICES = 500
BATCH = 500
LIMIT = 300.0  # each run is bounded in time as well as in count


def config() -> str:
    passive = [
        f"  - {{name: p{i:03d}, host: sender, active_checks: false, check: {{type: dummy}}}}"
        for i in range(SERVICES)
    ]
    agent = [
        f"  - {{name: a{i:03d}, host: office-pc, check_interval: 60s, check: {{type: dummy}}}}"
        for i in range(SERVICES)
    ]
    return (
        "settings: {self_metrics_interval: 1h, max_check_spread: 10s}\n"
        "agents:\n  office: {}\n"
        "hosts:\n  sender: {address: 127.0.0.1}\n"
        "  office-pc: {address: 127.0.0.1, agent: office}\n"
        "services:\n" + "\n".join(passive + agent) + "\n"
    )


async def passive_run(base: str, secret: str, clients: int, total: int) -> int:
    per = total // clients
    deadline = time.monotonic() + LIMIT
    sent = 0

    async def one(c: int) -> None:
        nonlocal sent
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for n in range(per):
                if time.monotonic() > deadline:
                    return
                i = (c * per + n) % SERVICES
                got = await client.post(
                    "/api/actions/process-check-result",
                    json={
                        "host": "sender",
                        "service": f"p{i:03d}",
                        "exit_status": 0,
                        "plugin_output": f"ok | v={n}",
                    },
                )
                got.raise_for_status()
                sent += 1

    await asyncio.gather(*(one(c) for c in range(clients)))
    return sent


async def agent_run(base: str, secret: str, batches: int) -> int:
    epoch = secrets.token_hex(8)
    deadline = time.monotonic() + LIMIT
    sent = 0
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for b in range(batches):
            if time.monotonic() > deadline:
                break
            now = time.time()
            results = [
                {
                    "seq": b * BATCH + i + 1,
                    "host": "office-pc",
                    "service": f"a{i:03d}",
                    "measured_at": now - 1 + i / 1000,
                    "duration": 0.001,
                    "exit_status": 0,
                    "output": "ok",
                    "perfdata": f"v={b}",
                }
                for i in range(BATCH)
            ]
            got = await client.post(
                "/api/agent/results",
                json={"epoch": epoch, "sent_at": now, "results": results},
            )
            got.raise_for_status()
            sent += BATCH
    return sent


def measure(label: str, pid: int, work: Coroutine[Any, Any, int]) -> None:
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    sent = asyncio.run(work)
    took = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    print(
        f"{label}: {sent} results in {took:.1f} s = {sent / took:.0f} results/s;"
        f" server CPU {cpu:.1f} s = {1000 * cpu / sent:.2f} ms per result"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=6000)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    (tmp / "augenmass.yaml").write_text(config())
    data = tmp / "server"
    print(f"start: {machine()}")
    server = start_server(tmp / "augenmass.yaml", data, port, args.profile)
    try:
        submit = token(data, "sender", "--scope", "submit")
        office = token(data, "office", "--agent", "office")
        time.sleep(10)  # start-up settles
        for clients in (int(c) for c in args.clients.split(",")):
            measure(
                f"process-check-result, {clients} clients",
                server.pid,
                passive_run(base, submit, clients, args.results),
            )
        measure(
            f"agent batches of {BATCH}, 1 client",
            server.pid,
            agent_run(base, office, max(1, 4 * args.results // BATCH)),
        )
        print(f"end: {machine()}")
    finally:
        stop(server)


if __name__ == "__main__":
    main()
