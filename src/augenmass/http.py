"""A minimal HTTP endpoint on --listen: the server's own health as JSON.

The REST API and web UI of a later issue replace this; it exists now so operators and the
benchmarks can see the scheduler's figures. No access log: it would carry client addresses.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from augenmass import __version__

if TYPE_CHECKING:
    from augenmass.app import Server


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def health(server: Server) -> dict[str, Any]:
    stats = server.scheduler.stats
    wstats = server.writer.stats
    return {
        "status": "degraded" if (wstats.degraded or server.store.degraded_reason) else "ok",
        "version": __version__,
        "hosts": len(server.plan.hosts),
        "services": len(server.plan.services),
        "scheduler": {
            "checks_started": stats.checks_started,
            "checks_completed": stats.checks_completed,
            "in_flight": stats.in_flight,
            "queued": stats.queued,
            "lateness_p50": stats.lateness_p50,
            "lateness_p99": stats.lateness_p99,
            "lateness_max": stats.lateness_max,
        },
        "store": {
            "pending": wstats.pending,
            "failures": wstats.failures,
            "degraded": bool(wstats.degraded),
            "degraded_reason": server.store.degraded_reason,
        },
    }


async def serve(server: Server, listen: str) -> None:
    host, port = parse_listen(listen)

    async def handle_health(_: web.Request) -> web.Response:
        return web.json_response(health(server))

    app = web.Application()
    app.router.add_get("/api/health", handle_health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
