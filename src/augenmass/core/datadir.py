"""What the data directory and the files in it must be, and one clear line when they are not.

The data directory must be a directory this process can write to (SQLite creates its -wal and
-shm files beside the database); the database and the other files in it must be regular files it
can read and write. A path of the wrong kind, or one it may not touch, is an operator's mistake
to be named (DataPathError, exit 1), not a traceback, and never a damaged database to be moved
aside.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from augenmass.core.errors import DataPathError
from augenmass.core.private import DIR_MODE

_ACCESS = {os.R_OK: "readable", os.W_OK: "writable"}


def ensure_dir(path: Path, what: str = "the data directory") -> None:
    """Create `path` (private) when missing; DataPathError unless it is a directory this process
    can create files in."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    except FileExistsError:
        pass  # something that is not a directory: said below
    except OSError as exc:
        raise path_error(exc, path, what) from None
    try:
        st = path.stat()
    except OSError as exc:
        raise path_error(exc, path, what) from None
    if not stat.S_ISDIR(st.st_mode):
        raise DataPathError(path, f"{_kind(st.st_mode)}, but {what} must be a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataPathError(path, f"{what} is not writable {_for_whom(path)}")


def check_file(path: Path, what: str, writable: bool = True) -> None:
    """DataPathError unless `path` is missing (it will be created) or a regular file this
    process can read (and write)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise path_error(exc, path, what) from None
    if not stat.S_ISREG(st.st_mode):
        raise DataPathError(path, f"{_kind(st.st_mode)}, but {what} must be a file")
    wanted = _ACCESS if writable else {os.R_OK: _ACCESS[os.R_OK]}
    lacking = [word for mode, word in wanted.items() if not os.access(path, mode)]
    if lacking:
        raise DataPathError(path, f"{what} is not {' and '.join(lacking)} {_for_whom(path)}")


def sidecar_path(db_path: Path) -> Path:
    """The handling sidecar beside an SQLite database (store/sidecar.py)."""
    return db_path.with_name(db_path.name + ".handling.json")


def check_store_paths(path: Path) -> None:
    """DataPathError for an SQLite database path that is not usable: the wrong kind of file, or
    one this process may not read or write (the database, its -wal and -shm files, the sidecar).
    Checked before the store's corruption checks, which would take such a file for a damaged
    database and move it aside, and before a server starts its first checks."""
    ensure_dir(path.parent, "the database's directory")
    check_file(path, "the database")
    for extra in ("-wal", "-shm"):
        check_file(path.with_name(path.name + extra), f"the database's {extra[1:]} file")
    check_file(sidecar_path(path), "the handling sidecar")


def sqlite_file(url_or_path: str) -> Path | None:
    """The file of a plain SQLite store (`sqlite:///PATH` or a path) without importing the
    store; None for anything else (the store's own parsing decides about those)."""
    if url_or_path.startswith("sqlite:///"):
        return Path(url_or_path[len("sqlite:///") :].split("?", 1)[0])
    if "://" in url_or_path or url_or_path.startswith(("sqlite:", "postgres")):
        return None
    return Path(url_or_path)


def path_error(exc: OSError, path: Path, what: str) -> DataPathError:
    """An OSError on `path` as one line that says what is wrong with it."""
    if exc.errno == errno.ENOTDIR:
        blocker = _first_non_directory(path)
        if blocker is not None and blocker != path:
            return DataPathError(path, f"{blocker} is a file, not a directory")
    if exc.errno == errno.EISDIR:
        return DataPathError(path, f"is a directory, but {what} must be a file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return DataPathError(path, f"{what} cannot be used: permission denied {_for_whom(path)}")
    if exc.errno == errno.EROFS:
        return DataPathError(path, f"{what} is on a read-only file system")
    reason = exc.strerror or str(exc)
    return DataPathError(path, f"{what} cannot be used: {reason[:1].lower()}{reason[1:]}")


def _for_whom(path: Path) -> str:
    for where in (path, path.parent):
        try:
            if os.statvfs(where).f_flag & os.ST_RDONLY:
                return "(read-only file system)"
            break
        except OSError:
            continue  # not there (yet), or not searchable: its directory tells
    return f"for user id {os.geteuid()}"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISREG(mode):
        return "is a file"
    return "is neither a file nor a directory"


def _first_non_directory(path: Path) -> Path | None:
    """The first existing component of `path` that is not a directory (ENOTDIR's culprit)."""
    for part in reversed([path, *path.parents]):
        try:
            st = part.stat()
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            return part
    return None
