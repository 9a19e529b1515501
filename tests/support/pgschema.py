"""A fresh PostgreSQL schema for a test that runs the real server on PostgreSQL.

Skips with the reason when no server answers on 127.0.0.1:5432, except under CI=true,
where PostgreSQL is part of the machine and its absence is a failure."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG = "postgresql://postgres@127.0.0.1:5432/test"


async def _sql(statement: str) -> None:
    import asyncpg

    con = await asyncpg.connect(PG, timeout=3)
    try:
        await con.execute(statement)
    finally:
        await con.close()


@contextmanager
def pg_store_url(prefix: str = "t") -> Iterator[str]:
    """The store URL of a new schema, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_sql("SELECT 1"))
    except Exception as exc:  # asyncpg raises its own error types, OSError or a timeout
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield f"{PG}?schema={name}"
    finally:
        asyncio.run(_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
