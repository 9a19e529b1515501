"""Engines for SQLite (aiosqlite) and PostgreSQL (asyncpg), and running migrations to head."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from augenmass.store.aio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic (about 11 MB of a server's memory, for as long as it runs) is imported only when a
# migration has to run or be listed: a server starting on an up-to-date database reads the
# revision itself (`_up_to_date`).

from augenmass.core.errors import StoreError


class SchemaTooNew(StoreError):
    """The database was migrated by a newer augenmass: this version must not touch it."""

    def __init__(self, current: str, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"the database is at schema revision {current}, which this version of augenmass "
            f"does not know (its newest is {head}): it was written by a newer augenmass. "
            "Run that version, or restore a backup made with this one"
        )


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


WAL_LIMIT = 16 * 1024 * 1024
PAGE_CACHE_KIB = 512


def disk_full(error: BaseException | str) -> bool:
    """SQLite's SQLITE_FULL, or "no space left on device" (ENOSPC, PostgreSQL's DiskFull)."""
    text = str(error).lower()
    return "disk is full" in text or "no space left" in text or "disk full" in text


# Prepared statements each connection keeps (Python's sqlite3 keeps 128): the write path uses
# a dozen, and every IN list of another length is one more. 128 of them held 1 MB of SQLite's
# memory after a first round that made 13,000 series (bench/memory.py, 5,000 services).
STATEMENT_CACHE = 32


def make_sqlite_engine(path: Path, busy_timeout_ms: int) -> AsyncEngine:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}", connect_args={"cached_statements": STATEMENT_CACHE}
    )

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_con: Any, _record: Any) -> None:
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsynced at every commit, so "committed" (a resolved writer Future)
        # also survives power loss, not only a crash; the lead waits for that before notifying.
        # Commits are batched (~one per 50 ms), so the fsync cost is per batch, not per result.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # A checkpoint truncates the WAL to this size: after a burst (or a full disk's
        # backlog) the file gives its space back instead of keeping its largest size.
        cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        # SQLite's own page cache (2 MB per connection by default) only repeats what the
        # kernel's page cache holds anyway: 512 KiB keep the B-tree's upper pages, and 3 MB of
        # a server's memory are not spent on copies (measured at 5,000 services)
        cur.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        cur.close()

    return engine


def make_pg_engine(url: str, schema: str | None) -> AsyncEngine:
    u = sa.make_url(url).set(drivername="postgresql+asyncpg")
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(u, pool_pre_ping=True, connect_args=connect_args)


def alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("augenmass") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = connection
    return cfg


def _current(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: sa.Connection) -> tuple[str | None, str]:
    before = _current(connection)
    # Checked before alembic runs: it would only say "can't locate revision" (or, worse, a
    # newer schema could be half-understood by this version's code).
    if before is not None and before not in known_revisions():
        raise SchemaTooNew(before, head_revision())
    from alembic import command

    command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


async def migrate(engine: AsyncEngine, schema: str | None = None) -> tuple[str | None, str]:
    """Bring the schema to the newest revision (a no-op when it is there already).

    Returns the revision before (None: an empty database) and after. Raises SchemaTooNew,
    changing nothing, when the database is at a revision this version does not know.
    """
    async with engine.begin() as conn:
        if schema:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        current = await conn.run_sync(_up_to_date)
        if current is not None:
            return current, current
        if engine.dialect.name == "sqlite":
            # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE: every
            # CREATE TABLE committed on its own, and a server stopped during its first start
            # (a SIGTERM 0.6 s in) left tables without the revision that made them: the next
            # start said "table check_state already exists", STORE CORRUPT. Opened here (the
            # reads above open none), the whole upgrade and its revision stamp commit
            # together or not at all; _upgrade reads the revision again under this lock.
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        return await conn.run_sync(_upgrade)


_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\b[^=\n]*=\s*(?:None|["']([^"']+)["'])""", re.M
)


def shipped_head() -> str | None:
    """The newest migration shipped, read from the scripts' text (None: not one clear head, so
    ask alembic). A test holds it equal to `head_revision()`."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (resources.files("augenmass") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py"):
            continue
        for kind, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if kind == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _up_to_date(connection: sa.Connection) -> str | None:
    """The database's revision when it is the shipped head (nothing to migrate), else None."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    head = shipped_head()
    if len(rows) == 1 and head is not None and rows[0][0] == head:
        return head
    return None


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("augenmass") / "migrations"))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """The newest migration shipped with this version."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    """Every revision this version ships, oldest first."""
    return [s.revision for s in reversed(list(_scripts().walk_revisions()))]


def pending_revisions(current: str | None) -> list[tuple[str, str]]:
    """(revision, title) of the migrations an upgrade from `current` would run, in order."""
    scripts = list(reversed(list(_scripts().walk_revisions())))
    known = [s.revision for s in scripts]
    if current is not None and current not in known:
        raise SchemaTooNew(current, head_revision())
    start = 0 if current is None else known.index(current) + 1
    return [(s.revision, (s.doc or "").strip().splitlines()[0]) for s in scripts[start:]]
