"""The store's asyncio layer (store/aio.py) on both real databases: a transaction block commits
or rolls back as a whole, and a connection goes back to the pool even when the task holding it
is cancelled (else a few cancelled API requests would leave the server without connections)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from augenmass.store import Store

T = sa.table("aio_probe", sa.column("n", sa.Integer))


async def _make(store: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE aio_probe (n INTEGER)")


async def _count(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(T)))


async def test_a_block_commits_whole_or_not_at_all(store: Store) -> None:
    await _make(store)
    async with store.engine.begin() as conn:
        await conn.execute(sa.insert(T), [{"n": 1}, {"n": 2}])
    with pytest.raises(RuntimeError):
        async with store.engine.begin() as conn:
            await conn.execute(sa.insert(T), [{"n": 3}])
            raise RuntimeError("half-way")
    assert await _count(store) == 2
    async with store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(T.c.n).order_by(T.c.n))).all()
        assert [r.n for r in rows] == [1, 2]
        assert list(await conn.scalars(sa.select(T.c.n).order_by(T.c.n))) == [1, 2]
    # not committed: closing rolls it back
    conn = await store.engine.connect()
    await conn.execute(sa.insert(T), [{"n": 9}])
    await conn.close()
    assert await _count(store) == 2
    # begun by hand, committed by hand
    conn = await store.engine.connect()
    tx = await conn.begin()
    await conn.execute(sa.insert(T), [{"n": 4}])
    await tx.commit()
    await conn.close()
    assert await _count(store) == 3


async def test_a_cancelled_task_gives_its_connection_back(store: Store) -> None:
    await _make(store)
    pool = store.engine.sync_engine.pool
    before = pool.checkedout()  # type: ignore[attr-defined]
    holding = asyncio.Event()

    async def hold() -> None:
        async with store.engine.begin() as conn:
            await conn.execute(sa.insert(T), [{"n": 1}])
            holding.set()
            await asyncio.sleep(3600)

    for _ in range(20):  # more than the pool holds (5 + 10 overflow)
        holding.clear()
        task = asyncio.create_task(hold())
        await asyncio.wait_for(holding.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert pool.checkedout() == before  # type: ignore[attr-defined]
    assert await _count(store) == 0  # every block was rolled back
