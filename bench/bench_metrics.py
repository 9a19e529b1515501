"""/metrics scrape of a large server: 10,000 services with 3 perfdata values each.

A real Server (engine, SQLite store) behind the real FastAPI app, scraped through httpx's ASGI
transport (the server's own time, no network): size of the answer, samples, and time per
scrape (median, p99, max over `--scrapes`). Results are fed in through Server.ingest.

Usage: python bench/bench_metrics.py [--services 10000] [--scrapes 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import config, pct  # noqa: E402

from augenmass.api import accounts  # noqa: E402
from augenmass.core.perfdata import parse_perfdata  # noqa: E402
from augenmass.core.values import CheckResult  # noqa: E402
from augenmass.server.control import Control  # noqa: E402
from augenmass.server.server import Server  # noqa: E402
from augenmass.web.site import create_site  # noqa: E402

PERF = "time=0.031s;1;2;0 size=52344B;;;0 used=41.5%;80;90;0;100"


async def run(services: int, scrapes: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "augenmass.yaml"
        cfg.write_text(config(services, 0, active=False))
        server = Server(cfg, Path(tmp) / "data")
        await server.start()
        try:
            perf = parse_perfdata(PERF)[0]
            for key in server.plan.services:
                res = CheckResult(key, 0, "ok", perfdata=perf, started_at=server.clock.now())
                await server.ingest(res)
            await server.writer.flush()
            control = Control(server)
            token = await accounts.create_token(control.accounts, "bench", frozenset({"read"}))
            transport = httpx.ASGITransport(app=create_site(control))
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                first = await c.get("/metrics", headers=headers)
                assert first.status_code == 200
                times = []
                for _ in range(scrapes):
                    t0 = time.perf_counter()
                    resp = await c.get("/metrics", headers=headers)
                    times.append(time.perf_counter() - t0)
                    assert resp.status_code == 200
            body = first.content
            return {
                "bench": "metrics scrape (in-process)",
                "services": len(server.plan.services),
                "bytes": len(body),
                "gzip_bytes": len(__import__("gzip").compress(body)),
                "samples": sum(1 for line in body.splitlines() if not line.startswith(b"#")),
                "scrapes": scrapes,
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "p99_ms": round(pct(times, 0.99) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
        finally:
            await server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--scrapes", type=int, default=30)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.services, args.scrapes))))


if __name__ == "__main__":
    main()
