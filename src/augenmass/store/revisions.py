"""Schema revisions of a store by its URL: where it is, what an upgrade would run, running it.

For `augenmass db status|upgrade`; the server migrates through `open_store` instead.
"""

from __future__ import annotations

import sqlalchemy as sa

from augenmass.core.errors import StoreError
from augenmass.store.aio import AsyncEngine
from augenmass.store.database import (
    SchemaTooNew,
    current_revision,
    head_revision,
    known_revisions,
    make_pg_engine,
    make_sqlite_engine,
    migrate,
    pending_revisions,
    split_schema,
    sqlite_path,
)

__all__ = [
    "SchemaTooNew",
    "head_revision",
    "known_revisions",
    "pending_revisions",
    "read_revision",
    "upgrade",
]


def _engine_for(url: str) -> tuple[AsyncEngine, str | None]:
    path = sqlite_path(url)
    if path is not None:
        return make_sqlite_engine(path, 5000), None
    rest, schema = split_schema(url)
    return make_pg_engine(rest, schema), schema


async def read_revision(url: str) -> str | None:
    """The schema revision of the store at `url` (None: empty); StoreError when unreadable."""
    eng, _ = _engine_for(url)
    try:
        return await current_revision(eng)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        raise StoreError(f"cannot read the schema revision: {exc}") from exc
    finally:
        await eng.dispose()


async def upgrade(url: str) -> tuple[str | None, str]:
    """Migrate the store at `url` to head: (revision before, after). SchemaTooNew or
    StoreError when it cannot."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    eng, schema = _engine_for(url)
    try:
        return await migrate(eng, schema)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        raise StoreError(f"the upgrade failed: {exc}") from exc
    finally:
        await eng.dispose()
