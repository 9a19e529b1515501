"""Private files: the data directory holds password hashes and session data, so what the
server writes there is readable by its own user only (files 0600, directories 0700), whatever
the umask it was started with."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("augenmass.files")

FILE_MODE = 0o600
DIR_MODE = 0o700
# Everything the server and its store create in the data directory (the database with its
# -wal/-shm files, the handling sidecar, kept-aside corrupt copies, the pid and lock files).
OWN_FILES = "augenmass.*"
SPOOL = "commands"


def tighten(path: Path, mode: int) -> None:
    """Take away any permission beyond `mode` (never adds one); a missing path is fine."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return  # never follow a link out of the data directory
    current = stat.S_IMODE(st.st_mode)
    if current & ~mode:
        path.chmod(current & mode)


def write_private(path: Path, text: str) -> None:
    """Replace the content of `path`, creating it 0600 (an existing file is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & FILE_MODE)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def protect_sqlite(db: Path | None) -> None:
    """Tighten an SQLite file and its -wal/-shm once opened (SQLite creates the file with the
    process's umask; later -wal/-shm files copy the database file's mode)."""
    if db is None:
        return
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        tighten(path, FILE_MODE)


def make_private(data_dir: Path) -> None:
    """Fix the modes of what an earlier, looser run left in the data directory (a file this
    user may not change, e.g. one root created, is logged and left as it is)."""
    spool = data_dir / SPOOL
    wanted = [(data_dir, DIR_MODE), (spool, DIR_MODE)]
    wanted += [(path, FILE_MODE) for path in sorted(data_dir.glob(OWN_FILES))]
    if spool.is_dir():
        wanted += [(path, FILE_MODE) for path in sorted(spool.iterdir())]
    for path, mode in wanted:
        try:
            tighten(path, mode)
        except OSError as exc:
            log.warning(
                "cannot make a data file private",
                extra={"path": str(path), "error": exc.strerror or str(exc)},
            )
