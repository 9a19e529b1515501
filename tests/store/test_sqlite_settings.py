"""Every SQLite connection of the store (the writer's and the readers'): WAL with a full fsync
at each commit (what "committed" promises after a power cut), a bounded WAL, and a small page
cache of its own (the kernel caches the file anyway; SQLite's default 2 MB per connection was
3 MB of a 5,000-service server's memory)."""

from __future__ import annotations

from pathlib import Path

from augenmass.store import open_store
from augenmass.store.database import PAGE_CACHE_KIB, WAL_LIMIT


async def test_each_connection_is_durable_and_caches_little(tmp_path: Path) -> None:
    store = await open_store(str(tmp_path / "augenmass.db"))
    try:
        conns = [await store.engine.connect() for _ in range(3)]  # three from the pool
        try:
            for conn in conns:
                got = {
                    name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                    for name in ("journal_mode", "synchronous", "journal_size_limit", "cache_size")
                }
                assert got == {
                    "journal_mode": "wal",
                    "synchronous": 2,  # FULL
                    "journal_size_limit": WAL_LIMIT,
                    "cache_size": -PAGE_CACHE_KIB,
                }
        finally:
            for conn in conns:
                await conn.close()
    finally:
        await store.close()
