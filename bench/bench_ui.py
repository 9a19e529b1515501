"""Web UI figures: the problems page with 10,000 services and 500 problems, and a 30-day graph.

A real Server (engine, SQLite store) behind the real FastAPI app; requests go in-process through
httpx's ASGI transport, so the figures are the server's own time without the network. The graph
series is 30 days of one-minute results written through the store and rolled up by the store's
own roll-up step, as a running server would have done.

Usage: python bench/bench_ui.py [--services 10000] [--problems 500] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from augenmass.api import accounts
from augenmass.core.values import CheckKey, CheckResult, PerfDatum
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.store import WriteBatch
from augenmass.web.site import create_site

PASSWORD = "bench password 123"
DAY = 86400.0


def config(services: int) -> str:
    hosts = max(1, services // 100)
    lines = [
        "settings: {max_check_spread: 1s}",
        "defaults: {check_interval: 1h, max_check_attempts: 1, active_checks: false}",
        "hosts:",
        *[f"  h{i:04d}: {{address: 127.0.0.1, tags: [bench]}}" for i in range(hosts)],
        "services:",
        *[
            f"  - {{name: s{j:03d}, hosts: {{tag: bench}}, check: {{type: dummy}}}}"
            for j in range(services // hosts)
        ],
    ]
    return "\n".join(lines) + "\n"


async def fill_states(server: Server, problems: int) -> None:
    keys = list(server.plan.services)
    for i, key in enumerate(keys):
        status = (1, 2, 3)[i % 3] if i < problems else 0
        res = CheckResult(key, status, f"bench output {i}", started_at=server.clock.now())
        await server.ingest(res)
    await server.writer.flush()


async def fill_series(server: Server, key: CheckKey, days: int) -> int:
    """One result a minute for `days`, then the store's roll-ups up to now."""
    now = server.clock.now()
    start = now - days * DAY
    results = [
        CheckResult(
            key,
            0,
            "ok",
            perfdata=(PerfDatum("time", 0.1 + (i % 60) / 100, "s"),),
            started_at=start + i * 60.0,
        )
        for i in range(int(days * DAY / 60))
    ]
    for i in range(0, len(results), 5000):
        await server.store.write(WriteBatch(results=results[i : i + 5000]))
    retention = server.plan.settings.retention
    last = None
    for _ in range(1000):  # bounded: each call rolls up at most 6 h per table
        report = await server.store.rollup_and_prune(now, retention)
        marks = (report.five_minute_upto, report.hourly_upto)
        if marks == last and not report.pruned_raw:
            break
        last = marks
    return len(results)


async def timed(client: httpx.AsyncClient, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = await client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return out


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{name}: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


async def main(services: int, problems: int, requests: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config"
        cfg.mkdir()
        (cfg / "bench.yaml").write_text(config(services))
        server = Server(cfg, Path(tmp) / "data")
        await server.start()
        try:
            t0 = time.perf_counter()
            await fill_states(server, problems)
            print(
                f"states: {len(server.plan.services)} services, {problems} problems "
                f"({time.perf_counter() - t0:.1f} s to ingest)"
            )
            key = next(iter(server.plan.services))
            t0 = time.perf_counter()
            n = await fill_series(server, key, days)
            print(f"series: {n} results over {days} days ({time.perf_counter() - t0:.1f} s)")
            control = Control(server)
            await accounts.add_user(control.accounts, "bench", PASSWORD, "viewer")
            transport = httpx.ASGITransport(app=create_site(control))
            async with httpx.AsyncClient(transport=transport, base_url="https://bench") as c:
                form = (await c.get("/login")).text  # the login form's CSRF token
                marker = 'name="login_token" value="'
                start = form.index(marker) + len(marker)
                token = form[start : form.index('"', start)]
                login = await c.post(
                    "/login",
                    data={"name": "bench", "password": PASSWORD, "login_token": token},
                )
                assert login.status_code == 303
                page = await c.get("/")
                assert page.text.count("data-key=") == problems, "not every problem shown"
                await timed(c, "/", 3)  # warm-up (templates compiled, caches primed)
                print(summary("problems page (/)", await timed(c, "/", requests)))
                print(
                    summary(
                        "problems fragment (/ui/problems)", await timed(c, "/ui/problems", requests)
                    )
                )
                graph = f"/ui/graph/{key.host}/{key.service}?label=time&range=30d"
                data = (await c.get(graph)).json()
                print(f"30-day graph: {len(data['x'])} points at resolution {data['resolution']}")
                print(summary("30-day graph (/ui/graph)", await timed(c, graph, requests)))
                print(summary("status page (/status, cached)", await timed(c, "/status", requests)))
                report = "/availability?kind=service&period=30d"  # every service, 30 days
                print(summary("availability, all services", await timed(c, report, 3)))
        finally:
            await server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--problems", type=int, default=500)
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    asyncio.run(main(args.services, args.problems, args.requests, args.days))
