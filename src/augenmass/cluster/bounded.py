"""Waits that end when they say, whatever the awaited code does with its cancellation.

`asyncio.wait_for` cancels the awaited task at its timeout and then waits for it to finish:
a NATS client close (or a task inside it) that catches its cancellation holds a server's or a
worker's stop for ever. `within` stops waiting at the deadline and leaves the task cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[Any], seconds: float) -> bool:
    """Await `awaitable` for at most `seconds`; True when it ended (its errors are dropped)."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()  # not awaited: see above
        return False
    if not task.cancelled():
        task.exception()  # retrieved: no "exception was never retrieved" at exit
    return True


async def bounded(awaitable: Awaitable[T], seconds: float) -> T:
    """Its result within `seconds`, else TimeoutError at once: the awaited task is cancelled and
    left (a database call over a link that went silent cannot hold the caller, not even while
    it rolls back). Cancelling the caller cancels it the same way."""
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        task.add_done_callback(_retrieve)
        raise TimeoutError
    return task.result()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # no "exception was never retrieved" when it ends after all
