"""Disk space held back for the day the disk fills up.

A file of `size` bytes, really allocated (not sparse), lies in the data directory. When the
store reports a full disk, the server deletes it: the space it frees lets SQLite commit what
waits in memory (states, events, the outbox rows of notifications already decided) and record
that the disk was full, instead of failing at the first write. Once the disk has room again
(twice the reserve free), the file is made anew.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from augenmass.core.private import FILE_MODE

log = logging.getLogger("augenmass.server")

NAME = "augenmass.reserve"
CHUNK = 1024 * 1024


class Reserve:
    def __init__(self, data_dir: Path, size: int) -> None:
        self.path = data_dir / NAME
        self.size = size

    @property
    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size > 0
        except OSError:
            return False

    def free_bytes(self) -> int:
        st = os.statvfs(self.path.parent)
        return st.f_bavail * st.f_frsize

    def make(self) -> bool:
        """Allocate the reserve (True) unless it is there, disabled, or the disk has too little
        room: then the server runs without it, and says so once."""
        if self.size <= 0 or self.held:
            return self.held
        try:
            if self.free_bytes() < 2 * self.size:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                try:
                    os.posix_fallocate(fd, 0, self.size)
                except OSError:
                    # a file system without fallocate (some tmpfs, NFS): write real zeros
                    zeros = bytes(CHUNK)
                    for offset in range(0, self.size, CHUNK):
                        os.pwrite(fd, zeros[: min(CHUNK, self.size - offset)], offset)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning(
                "could not make the disk reserve", extra={"path": str(self.path), "error": str(exc)}
            )
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> bool:
        """Give the space back to the disk (True if there was a reserve to give)."""
        if not self.path.exists():
            return False
        self.path.unlink(missing_ok=True)
        return True
