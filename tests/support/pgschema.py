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


async def run_sql(statement: str) -> None:
    import asyncpg

    con = await asyncpg.connect(PG, timeout=3)
    try:
        await con.execute(statement)
    finally:
        await con.close()


def pg_missing() -> str | None:
    """Why PostgreSQL cannot be used here (None: it answers). Under CI=true, a failure."""
    try:
        asyncio.run(run_sql("SELECT 1"))
    except Exception as exc:  # asyncpg raises its own error types, OSError or a timeout
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        return reason
    return None


@contextmanager
def maybe_pg_store_url(prefix: str = "t") -> Iterator[str | None]:
    """A new schema's URL, or None where PostgreSQL is missing (the caller says so)."""
    if pg_missing():
        yield None
        return
    with pg_store_url(prefix) as url:
        yield url


@contextmanager
def pg_store_url(prefix: str = "t") -> Iterator[str]:
    """The store URL of a new schema, dropped afterwards (skips without PostgreSQL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    reason = pg_missing()
    if reason:
        pytest.skip(reason)
    try:
        yield f"{PG}?schema={name}"
    finally:
        asyncio.run(run_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
