"""The store's asyncio face over a SQLAlchemy Core engine with an asyncio driver (aiosqlite,
asyncpg): connections, transactions and statements, each awaited.

SQLAlchemy's own `ext.asyncio` brings its ORM with it (its session module imports it): 6.7 MB
of a server's memory for classes the store never uses. This is the part of it the store
needs, on the pieces SQLAlchemy's own layer stands on: `create_engine` with its private
`_is_async` flag (as `create_async_engine` passes it; the lock file pins the version and
tests/store/test_aio.py runs this on both databases) and `greenlet_spawn`, which runs the sync
Core code and lets the driver's awaits through. Results come back
buffered: both drivers fetch every row while the statement runs, so a `Result` is read without
awaiting. The pooled connection always goes back to the pool, even when the task using it is
cancelled meanwhile (`_to_completion`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.util import greenlet_spawn

if TYPE_CHECKING:
    from typing import TypeAlias

    # any number of columns of any type (SQLAlchemy types a row's columns one by one)
    Rows: TypeAlias = CursorResult[*tuple[Any, ...]]

P = ParamSpec("P")
T = TypeVar("T")


def create_async_engine(url: str | sa.URL, **kw: Any) -> AsyncEngine:
    """An engine whose dialect is the URL's asyncio one (`sqlite+aiosqlite`, `+asyncpg`)."""
    # `_is_async` is what SQLAlchemy's own create_async_engine passes: it picks the dialect's
    # asyncio class and the pool made for it.
    return AsyncEngine(sa.create_engine(url, _is_async=True, **kw))


async def _to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to its end even when the caller is cancelled meanwhile; the cancellation is
    raised after it. (A connection handed back to the pool half-way would be lost to it.)"""
    task = asyncio.ensure_future(coro)
    cancelled: BaseException | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as err:
            if task.done():
                raise
            cancelled = err
        else:
            break
    if cancelled is not None:
        raise cancelled
    return result


class AsyncEngine:
    """`engine.connect()` (awaited or `async with`), `engine.begin()`, `engine.dispose()`."""

    def __init__(self, sync_engine: Engine) -> None:
        self.sync_engine = sync_engine

    @property
    def dialect(self) -> sa.Dialect:
        return self.sync_engine.dialect

    @property
    def url(self) -> sa.URL:
        return self.sync_engine.url

    def connect(self) -> AsyncConnection:
        return AsyncConnection(self)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction: committed when the block ends, rolled back when it
        raises."""
        async with self.connect() as conn, conn.begin():
            yield conn

    async def dispose(self, close: bool = True) -> None:
        await greenlet_spawn(self.sync_engine.dispose, close=close)


class AsyncConnection:
    """One pooled connection. Statements autobegin a transaction (as a Core `Connection`);
    closing rolls back what was not committed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sync_connection: Connection | None = None

    async def start(self) -> AsyncConnection:
        if self.sync_connection is not None:
            raise sa.exc.InvalidRequestError("connection is already started")
        self.sync_connection = await greenlet_spawn(self.engine.sync_engine.connect)
        return self

    def __await__(self) -> Generator[Any, None, AsyncConnection]:
        return self.start().__await__()

    async def __aenter__(self) -> AsyncConnection:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await _to_completion(self.close())

    @property
    def _sync(self) -> Connection:
        if self.sync_connection is None:
            raise sa.exc.InvalidRequestError("connection is not started (await it, or async with)")
        return self.sync_connection

    @property
    def dialect(self) -> sa.Dialect:
        return self.engine.dialect

    def begin(self) -> AsyncTransaction:
        return AsyncTransaction(self)

    async def execute(
        self,
        statement: sa.Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Rows:
        result: Rows = await greenlet_spawn(
            self._sync.execute,
            statement,
            parameters,
            execution_options=execution_options,
            _require_await=True,
        )
        return result

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Rows:
        result: Rows = await greenlet_spawn(
            self._sync.exec_driver_sql, statement, parameters, _require_await=True
        )
        return result

    async def scalar(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def scalars(self, statement: sa.Executable, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalars()

    async def run_sync(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """`fn(sync_connection, ...)` where the driver's awaits are let through (Alembic)."""
        result: T = await greenlet_spawn(fn, self._sync, *args, _require_await=False, **kw)
        return result

    async def execution_options(self, **options: Any) -> AsyncConnection:
        await greenlet_spawn(self._sync.execution_options, **options)
        return self

    async def commit(self) -> None:
        await greenlet_spawn(self._sync.commit)

    async def rollback(self) -> None:
        await greenlet_spawn(self._sync.rollback)

    async def close(self) -> None:
        if self.sync_connection is not None:
            await greenlet_spawn(self.sync_connection.close)


class AsyncTransaction:
    """`async with conn.begin():` commits at the end of the block, rolls back on an error;
    `tx = await conn.begin()` leaves that to `tx.commit()` / `tx.rollback()`."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._sync: sa.Transaction | None = None

    async def start(self) -> AsyncTransaction:
        self._sync = await greenlet_spawn(self._conn._sync.begin)
        return self

    def __await__(self) -> Generator[Any, None, AsyncTransaction]:
        return self.start().__await__()

    async def __aenter__(self) -> AsyncTransaction:
        await self.start()
        assert self._sync is not None
        self._sync.__enter__()
        return self

    async def __aexit__(self, kind: Any, value: Any, traceback: Any) -> None:
        assert self._sync is not None
        await greenlet_spawn(self._sync.__exit__, kind, value, traceback)

    async def commit(self) -> None:
        assert self._sync is not None
        await greenlet_spawn(self._sync.commit)

    async def rollback(self) -> None:
        assert self._sync is not None
        await greenlet_spawn(self._sync.rollback)
