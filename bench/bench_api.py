"""API figures: the problem list with 10,000 services and 500 problems, and dashboard load.

1. In-process: a real Server (engine, SQLite store) behind the real FastAPI app, requests through
   httpx's ASGI transport, so the figure is the server's own time without the network:
   GET /api/problems (read token) with 10,000 services of which 500 are problems.
2. The real `augenmass run` process with 10,000 active dummy checks every 60 s (500 of them
   CRITICAL/WARNING/UNKNOWN), measured twice for `--seconds` after a warm-up: idle, and with
   `--users` concurrent dashboard users over TCP, each fetching /api/problems and /api/health
   every 10 s. Reported: the scheduler's p99 start lateness (from /api/health, 60 s window) and
   the users' answer times.

Usage: python bench/bench_api.py [--services 10000] [--problems 500] [--users 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from augenmass.api import accounts
from augenmass.core.clock import SystemClock
from augenmass.core.values import CheckResult
from augenmass.server.control import Control, StoreAccounts
from augenmass.server.server import Server, db_url
from augenmass.store import open_store
from augenmass.web.site import create_site

LIMIT = 120.0  # every wait is bounded


def config(services: int, problems: int, active: bool) -> str:
    hosts = max(1, services // 100)
    per_host = services // hosts
    lines = [
        "settings: {max_check_spread: 20s, self_metrics_interval: 1h}",
        "defaults: {check_interval: 60s, max_check_attempts: 1,"
        f" active_checks: {str(active).lower()}}}",
        "hosts:",
        *[f"  h{i:04d}: {{address: 127.0.0.1, tags: [bench]}}" for i in range(hosts)],
        "services:",
    ]
    for j in range(per_host):
        lines.append(f"  - {{name: s{j:03d}, hosts: {{tag: bench}}, check: {{type: dummy}}}}")
    # the problems: `problems` more services with a failing check, spread over the hosts
    for i in range(problems):
        h = i % hosts
        state = ("critical", "warning", "unknown")[i % 3]
        lines.append(
            f"  - {{name: bad{i // hosts:03d}, host: h{h:04d},"
            f" check: {{type: dummy, state: {state}, output: 'bench problem {i}'}}}}"
        )
    return "\n".join(lines) + "\n"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else 0.0


async def bench_in_process(services: int, problems: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "augenmass.yaml"
        cfg.write_text(config(services - problems, problems, active=False))
        server = Server(cfg, Path(tmp) / "data")
        await server.start()
        try:
            for key in server.plan.services:
                status = 0
                if key.service and key.service.startswith("bad"):
                    status = 2
                await server.ingest(
                    CheckResult(key, status, "bench", started_at=server.clock.now())
                )
            await server.writer.flush()
            control = Control(server)
            token = await accounts.create_token(control.accounts, "bench", frozenset({"read"}))
            app = create_site(control)
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                first = await c.get("/api/problems", headers=headers)
                assert first.status_code == 200, first.text
                found = len(first.json()["problems"])
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    resp = await c.get("/api/problems", headers=headers)
                    times.append(time.perf_counter() - t0)
                    assert resp.status_code == 200
            return {
                "bench": "api problem list (in-process)",
                "services": len(server.plan.services),
                "problems": found,
                "requests": requests,
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "p99_ms": round(pct(times, 0.99) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
        finally:
            await server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def make_token(data: Path) -> str:
    store = await open_store(db_url(data))
    try:
        tokens = StoreAccounts(store, SystemClock())
        return await accounts.create_token(tokens, "bench", frozenset({"read"}))
    finally:
        await store.close()


async def dashboard_users(
    url: str, token: str, users: int, seconds: float
) -> tuple[list[float], int]:
    times: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)

    async def user(c: httpx.AsyncClient) -> None:
        nonlocal errors
        await asyncio.sleep(random.uniform(0, 10))
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            try:
                a = await c.get("/api/problems", headers={"Authorization": f"Bearer {token}"})
                b = await c.get("/api/health")
                if a.status_code != 200 or b.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            times.append(time.perf_counter() - t0)
            await asyncio.sleep(max(0.0, 10 - (time.perf_counter() - t0)))

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as c:
        await asyncio.gather(*(user(c) for _ in range(users)))
    return times, errors


def health(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/api/health", timeout=10).json()  # type: ignore[no-any-return]


def run_process(
    services: int, problems: int, users: int, seconds: float, warmup: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "augenmass.yaml"
        cfg.write_text(config(services - problems, problems, active=True))
        data = Path(tmp) / "data"
        data.mkdir()
        token = asyncio.run(make_token(data))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(data / "server.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "augenmass",
                "run",
                "--config",
                str(cfg),
                "--data",
                str(data),
                "--listen",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + LIMIT
            while time.monotonic() < deadline:
                try:
                    health(url)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            time.sleep(warmup)
            times: list[float] = []
            errors = 0
            if users:
                times, errors = asyncio.run(dashboard_users(url, token, users, seconds))
            else:
                time.sleep(seconds)
            h = health(url)["scheduler"]
            return {
                "bench": f"scheduler lateness with {users} dashboard users",
                "services": services,
                "checks_per_s": round(services / 60, 1),
                "lateness_p50_s": round(h["lateness_p50"], 4),
                "lateness_p99_s": round(h["lateness_p99"], 4),
                "lateness_max_s": round(h["lateness_max"], 4),
                "dashboard_refreshes": len(times),
                "dashboard_errors": errors,
                "refresh_p50_ms": round(statistics.median(times) * 1000, 1) if times else None,
                "refresh_p99_ms": round(pct(times, 0.99) * 1000, 1) if times else None,
            }
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=30.0)
    ap.add_argument("--skip-load", action="store_true")
    args = ap.parse_args()
    results = [asyncio.run(bench_in_process(args.services, args.problems, args.requests))]
    print(results[-1], flush=True)
    if not args.skip_load:
        for users in (0, args.users):
            results.append(
                run_process(args.services, args.problems, users, args.seconds, args.warmup)
            )
            print(results[-1], flush=True)


if __name__ == "__main__":
    main()
