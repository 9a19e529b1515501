"""Give the C allocator's free memory back to the system now and then (glibc's malloc_trim).

Under steady load the server's RSS crept up by about half a megabyte a minute with no Python
object growing (tracemalloc): memory freed by the SQLite thread and the other threads stays in
glibc's arenas, in pages between live chunks that free() never returns. After a 30-minute
overload soak, one malloc_trim(0) gave back 11 MB of the server's 201 MB (bench/RESULTS.md).
Done in a thread: the call walks every arena and holds its lock, not the GIL.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger("augenmass.server")

TRIM_SECONDS = 60.0


def _load() -> Callable[[int], int] | None:
    """libc's malloc_trim, or None where there is none (musl, other systems)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


_TRIM = _load()


def available() -> bool:
    return _TRIM is not None


def trim() -> bool:
    """Return free memory at the end of the heap and free pages within it to the system.
    True when some was returned (False also where there is no malloc_trim)."""
    return _TRIM is not None and bool(_TRIM(0))
