"""Child process for the kill -9 test: writes batches and prints each one once committed."""

from __future__ import annotations

import asyncio
import sys

from augenmass.core.clock import SystemClock
from augenmass.core.values import CheckKey, CheckState
from augenmass.store import StoreWriter, WriteBatch, open_store

from .helpers import event, result


async def main(url: str, schema: str | None) -> None:
    store = await open_store(url, schema=schema)
    writer = StoreWriter(store, SystemClock(), merge_window=0.002)
    await writer.start()
    for i in range(100_000):  # bounded; the parent kills us long before
        key = CheckKey(f"h{i}", "svc")
        batch = WriteBatch(
            states=[CheckState(key=key, state=i % 4, checked=True)],
            events=[event(1000.0 + i, key)],
            results=[result(1000.0 + i, key)],
        )
        fut = writer.submit(batch)
        if i % 2:  # also some batches that nobody waits for
            continue
        await fut
        print(i, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] or None))
