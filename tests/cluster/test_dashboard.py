"""The dashboard of the web UI shows the check workers per zone (a real Server in-process, a
real worker of zone dc1, the real app through httpx)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from natsserver import NatsServer

from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site
from web.helpers import add_user, login, write_config

from .helpers import prefix, start_worker, stop, until


async def test_the_dashboard_shows_the_workers_of_each_zone(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    pfx = prefix()
    config = write_config(
        tmp_path / "config",
        f"""
settings: {{default_host_check: none}}
cluster:
  nats: {{url: "{nats_server.url}", prefix: {pfx}}}
  zones: [dc1]
hosts:
  db1: {{address: 127.0.0.1, zone: dc1}}
services:
  - {{name: load, host: db1, check_interval: 1s, check: {{type: dummy, output: on a worker}}}}
""",
    )
    server = Server(config, tmp_path / "data")
    await server.start()
    worker = start_worker(nats_server.url, pfx, zone="dc1", name="dc1-a")
    try:
        cluster = server.cluster
        assert cluster is not None
        await until(
            lambda: any(z.zone == "dc1" and z.results for z in cluster.figures().zones),
            20,
            "a result from the dc1 worker",
        )
        await add_user(server, "olga", "operator")
        transport = httpx.ASGITransport(app=create_site(Control(server)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "olga")
            html = (await c.get("/")).text
        card = html[html.index('id="workers"') :]
        assert "Check workers" in card
        row = re.search(r"<tr><td>dc1</td><td>(\d+)</td><td>(\d+)/(\d+)</td>", card)
        assert row is not None, card[:2000]
        assert row.groups()[0] == "1" and row.groups()[2] == "64"
        assert "NATS cannot be reached" not in card
        assert server.engine.states[next(iter(server.plan.services))].output == "on a worker"
    finally:
        await stop(worker)
        await server.stop()
