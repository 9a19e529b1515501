"""One worker thread for the CPU-heavy parts of delivery (rendering, MIME encoding).

Rendering a message of a thousand lines takes tens of milliseconds of pure Python. Run in the
default executor, a storm keeps several such threads busy at once; they all compete with the
event loop for the GIL, and the scheduler's start lateness grows to a second. One thread at a
time leaves the loop a fair share (the GIL is handed over at least every switch interval), and
a storm is still rendered in a few seconds.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="augenmass-notify-cpu")
        atexit.register(_executor.shutdown, wait=False, cancel_futures=True)
    return _executor


async def run_cpu(fn: Callable[..., T], /, *args: object) -> T:
    """`fn(*args)` in the notification worker thread (one at a time, in order of arrival)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(fn, *args))
