"""Fixtures: one contract suite over SQLite (tmp_path) and PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from augenmass.store import Store, open_store

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Db:
    kind: str
    url: str
    schema: str | None = None

    async def open(self, **kw: Any) -> Store:
        return await open_store(self.url, schema=self.schema, **kw)


async def _pg_schema() -> str:
    try:
        con = await asyncpg.connect(PG_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"t_{uuid.uuid4().hex[:16]}"
    try:
        await con.execute(f'CREATE SCHEMA "{name}"')
    finally:
        await con.close()
    return name


async def _drop_schema(name: str) -> None:
    con = await asyncpg.connect(PG_URL, timeout=3)
    try:
        await con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await con.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Db]:
    if request.param == "sqlite":
        yield Db("sqlite", str(tmp_path / "augenmass.db"))
        return
    schema = await _pg_schema()
    try:
        yield Db("postgres", PG_URL, schema)
    finally:
        await _drop_schema(schema)


@pytest.fixture
async def store(db: Db) -> AsyncIterator[Store]:
    s = await db.open()
    try:
        yield s
    finally:
        await s.close()
