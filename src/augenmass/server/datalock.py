"""One server per data directory: an exclusive flock on DATA/augenmass.lock for the life of
the process. The kernel drops the lock when the process dies, even by kill -9, so a stale lock
file never blocks the next start."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from augenmass.core.private import DIR_MODE, FILE_MODE


class DataDirBusy(Exception):
    def __init__(self, data_dir: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "another process"
        super().__init__(f"another augenmass server ({holder}) is running on {data_dir}")
        self.pid = pid


def lock_path(data_dir: Path) -> Path:
    return data_dir / "augenmass.lock"


def hold(data_dir: Path) -> int:
    """Take the lock or raise DataDirBusy; returns the descriptor, to be kept open.

    The loser only reads: it neither truncates the lock file nor touches the pid file."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd = os.open(lock_path(data_dir), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        raise DataDirBusy(data_dir, pid) from None
    except BaseException:
        os.close(fd)
        raise
    # The holder's pid in the lock file itself: it names the winner even before the server
    # has written its pid file (that waits for the config and the store).
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
