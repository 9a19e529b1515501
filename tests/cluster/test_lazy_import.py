"""A server without a `cluster:` section never imports nats-py (and aiohttp with it): about
10 MB of memory for as long as it runs. Started in a fresh process, with its API and web UI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = """
import asyncio, sys
from pathlib import Path
import augenmass.cli.main, augenmass.web.site  # what `augenmass run` and its listener import
from augenmass.server.server import Server

async def main(cfg, data):
    server = Server(Path(cfg), Path(data))
    await server.start()
    try:
        for _ in range(300):  # bounded: 30 s
            if server.scheduler.stats.checks_completed >= 2:
                break
            await asyncio.sleep(0.1)
        assert server.scheduler.stats.checks_completed >= 2, "no check ran"
        from augenmass.server.control import Control
        Control(server).health()
    finally:
        await server.stop()

asyncio.run(main(sys.argv[1], sys.argv[2]))
print(sorted({m.split(".")[0] for m in sys.modules} & {"nats", "aiohttp"}))
"""

CONFIG = """
hosts:
  box:
    address: 127.0.0.1
    check: {type: dummy, state: ok}
services:
  disk:
    host: box
    check_interval: 1s
    check: {type: dummy, state: ok, output: fine}
"""


def test_a_server_without_cluster_does_not_load_nats(tmp_path: Path) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text(CONFIG)
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(cfg), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
