"""Is a server running on a data directory? The lock-file and pid-file conventions.

The server holds an exclusive `flock` on DATA/augenmass.lock for as long as it runs (the kernel
drops it when the process dies, so a crash leaves no stale lock) and writes its pid to
DATA/augenmass.pid. Commands that must not run beside a server (restore, upgrade) take the
same lock for their own duration, so a server cannot start half-way through them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from augenmass.core.errors import StoreError
from augenmass.core.private import DIR_MODE, FILE_MODE

LOCK_NAME = "augenmass.lock"
PID_NAME = "augenmass.pid"


class DataDirInUse(StoreError):
    pass


def _live_pid(data_dir: Path) -> int | None:
    """The pid in DATA/augenmass.pid when that process exists, else None."""
    try:
        pid = int((data_dir / PID_NAME).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # stale: the server died without removing it
    except PermissionError:
        return pid  # exists, owned by someone else
    return pid


@contextlib.contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's lock, or raise DataDirInUse when a server runs on it."""
    lock = data_dir / LOCK_NAME
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # the holder writes its pid into the lock file
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {text})" if text.isdigit() else ""
            raise DataDirInUse(
                f"a server{who} is running on {data_dir} (it holds {lock}): stop it first"
            ) from None
        pid = _live_pid(data_dir)
        if pid is not None:
            raise DataDirInUse(
                f"{data_dir / PID_NAME} names process {pid}, which is running: stop the server "
                "first (if that process is not augenmass, remove the stale pid file)"
            )
        yield
    finally:
        os.close(fd)  # releases the lock
