"""Engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), and running migrations to head."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlite_path(url_or_path: str) -> Path | None:
    """The file of an SQLite store, or None for PostgreSQL."""
    if url_or_path.startswith(("postgresql:", "postgresql+", "postgres:")):
        return None
    if url_or_path.startswith("sqlite"):
        url = sa.make_url(url_or_path)
        if not url.database or url.database == ":memory:":
            raise ValueError("the store needs a file: an in-memory SQLite database is not durable")
        return Path(url.database)
    return Path(url_or_path)


def split_schema(url: str) -> tuple[str, str | None]:
    """Take our own `?schema=NAME` out of a PostgreSQL URL (the driver does not know it)."""
    u = sa.make_url(url)
    schema = u.query.get("schema")
    if schema is None:
        return url, None
    rest = u.difference_update_query(["schema"])
    return rest.render_as_string(hide_password=False), str(schema)


def make_sqlite_engine(path: Path, busy_timeout_ms: int) -> AsyncEngine:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_con: Any, _record: Any) -> None:
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsynced at every commit, so "committed" (a resolved writer Future)
        # also survives power loss, not only a crash; the lead waits for that before notifying.
        # Commits are batched (~one per 50 ms), so the fsync cost is per batch, not per result.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    return engine


def make_pg_engine(url: str, schema: str | None) -> AsyncEngine:
    u = sa.make_url(url).set(drivername="postgresql+asyncpg")
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(u, pool_pre_ping=True, connect_args=connect_args)


def _alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    location = resources.files("augenmass") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: sa.Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


def _current(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def migrate(engine: AsyncEngine, schema: str | None = None) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    async with engine.begin() as conn:
        if schema:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revision() -> str:
    """The newest migration shipped with this version."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("augenmass") / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head
