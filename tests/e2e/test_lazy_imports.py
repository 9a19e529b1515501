"""What a server does not need, it does not import: memory it would hold for as long as it
runs. A server on SQLite without a `cluster:` section, started in a fresh process with its API
and web UI, has not loaded nats-py (and aiohttp with it: about 10 MB), SQLAlchemy's ORM and
asyncio extension (6.7 MB; the store has its own small asyncio layer, store/aio.py), Alembic
(when the database is up to date) or the PostgreSQL dialect (1.8 MB)."""

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
unneeded = (
    "nats", "aiohttp", "alembic",
    "sqlalchemy.orm", "sqlalchemy.ext", "sqlalchemy.dialects.postgresql",
)
print(sorted(m for m in sys.modules if m.startswith(unneeded)))
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


def test_a_server_on_sqlite_without_cluster_loads_only_what_it_needs(tmp_path: Path) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text(CONFIG)
    # The first start makes the database (Alembic, which loads every dialect, runs then); the
    # one measured starts on it, as a server does nearly every time.
    for start in ("first", "again"):
        out = subprocess.run(
            [sys.executable, "-c", RUN, str(cfg), str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert out.returncode == 0, (start, out.stderr[-3000:])
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
