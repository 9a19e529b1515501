"""Many-row INSERTs and upserts, compiled once and run as plain DBAPI executemany.

`conn.execute(stmt, rows)` derives the statement's cache key on every call and runs every
value of every row through SQLAlchemy's parameter processing: with a state and a result row
per check that cost more than SQLite's own work. Here the SQL text is compiled once for the
dialect (placeholders, casts and all), and rows go to the driver as they are, so they must
already hold what the driver takes: str, int, float, bool or None (the codec makes them so).
The driver's errors still arrive wrapped as SQLAlchemy's DBAPIError subclasses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from augenmass.store.aio import AsyncConnection

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Bulk:
    sql: str
    # dict row → the driver's parameters: a tuple in placeholder order (positional styles,
    # as both qmark for SQLite and $n for asyncpg are), or the dict itself (named styles)
    params: Callable[[Row], Any]
    # the columns in placeholder order (positional styles), () for named styles
    order: tuple[str, ...] = ()


def compile_bulk(stmt: Any, columns: Sequence[str], dialect: sa.Dialect) -> Bulk:
    """`stmt` (an insert, optionally with ON CONFLICT) with a placeholder per column."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
    names = compiled.positiontup
    if not compiled.positional:
        return Bulk(compiled.string, dict)
    assert names is not None and sorted(names) == sorted(columns), (names, columns)
    if len(names) == 1:
        name = names[0]
        return Bulk(compiled.string, lambda row: (row[name],), (name,))
    return Bulk(compiled.string, itemgetter(*names), tuple(names))


async def execute_bulk(conn: AsyncConnection, bulk: Bulk, rows: Sequence[Row]) -> None:
    if rows:
        params = bulk.params
        await conn.exec_driver_sql(bulk.sql, [params(r) for r in rows])


async def execute_tuples(
    conn: AsyncConnection, bulk: Bulk, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows made as tuples in `bulk.order` already (no dict per row: perfdata points)."""
    if rows:
        await conn.exec_driver_sql(bulk.sql, list(rows))
