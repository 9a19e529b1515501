"""A fresh PostgreSQL schema per test (skips with the reason without PostgreSQL, fails under
CI=true, as tests/support/pgschema.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from pgschema import PG, run_sql

from augenmass.store import Store, open_store


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    try:
        await run_sql("SELECT 1")
    except Exception as exc:  # asyncpg raises its own error types, OSError or a timeout
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"ha_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG}?schema={name}"
    finally:
        await run_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[Store]:
    s = await open_store(pg_url)
    try:
        yield s
    finally:
        await s.close()
