"""The real server with its store in PostgreSQL: results land there and survive kill -9."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ServerProcess, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PG = "postgresql://postgres@127.0.0.1:5432/test"


async def _sql(statement: str) -> None:
    import asyncpg

    con = await asyncpg.connect(PG, timeout=3)
    try:
        await con.execute(statement)
    finally:
        await con.close()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_sql("SELECT 1"))
    except (OSError, TimeoutError, Exception) as exc:  # asyncpg raises its own error types
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield name
    asyncio.run(_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def test_server_on_postgresql_keeps_state_through_kill_9(tmp_path: Path, pg_schema: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("""
settings: {max_check_spread: 1s}
hosts: {db-host: {address: 127.0.0.1}}
services:
  - {name: broken, host: db-host, check_interval: 1s, max_check_attempts: 1,
     check: {type: dummy, state: critical, output: "replication lag 300 s"}}
  - {name: fine, host: db-host, check_interval: 1s, check: {type: dummy, state: ok, output: ok}}
""")
    server = ServerProcess(cfg, tmp_path / "data", store=f"{PG}?schema={pg_schema}")
    try:
        server.start()
        # both checks start within the spread (1 s): the HARD problem may be stored before
        # the other check ran at all
        rows = wait_for(
            lambda: (
                (s := server.status()).get("db-host/broken", {}).get("state_type") == "HARD"
                and "db-host/fine" in s
                and s
            ),
            20,
            "the HARD problem and the fine check in PostgreSQL",
        )
        assert rows["db-host/broken"]["output"] == "replication lag 300 s"
        assert rows["db-host/fine"]["state"] == "OK"
        server.kill9()
        server.start()
        assert server.status()["db-host/broken"]["state"] == "CRITICAL"
    finally:
        server.stop()
    assert not (tmp_path / "data" / "augenmass.db").exists(), "nothing went to SQLite"
