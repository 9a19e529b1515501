"""The data directory's lock: one server per data directory, and the one way to find that server.

A server holds an exclusive `flock` on DATA/augenmass.lock for the life of its process and
writes who it is into the file: its pid, the start time of that pid (so a pid the kernel has
reused for another process is told apart) and its role. The kernel drops the lock when the
process dies, even by kill -9, so a stale lock file never blocks the next start, and the text
left in it means nothing until someone holds the lock again. Commands that must not run beside a
server (restore, db upgrade) hold the same lock for their own duration.

Whoever wants to signal or report "the running server" (`augenmass reload`, `status`, the
command spool's message) goes by the lock, never by a pid alone: no one holds it → no server
runs, nothing is signalled; someone holds it → the pid in the file must still be the process
that wrote it (same start time) and an augenmass server (its command line says so).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from augenmass.core.datadir import ensure_dir, path_error
from augenmass.core.errors import AugenmassError
from augenmass.core.private import FILE_MODE

LOCK_NAME = "augenmass.lock"
SERVER = "server"
# `augenmass reload` and `status` hold the lock (shared) for a moment to see whether anyone
# holds it; a server starting in that moment waits this long before it calls the directory busy.
BUSY_RETRY_SECONDS = 0.5
_RETRY_STEP = 0.05


class DataDirBusy(AugenmassError):
    """Someone (a server, or a restore or upgrade) holds the data directory's lock."""

    def __init__(self, data_dir: Path, holder: Holder | None) -> None:
        if holder is None:
            who = "another augenmass process"
        elif holder.role == SERVER:
            who = f"another augenmass server (pid {holder.pid})"
        else:
            who = f"augenmass {holder.role} (pid {holder.pid})"
        super().__init__(f"{who} is running on {data_dir}")
        self.holder = holder


class NoServer(AugenmassError):
    """No augenmass server runs on the data directory, or the one named cannot be confirmed."""


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    start: int | None  # the process's start time in clock ticks since boot (/proc/PID/stat)
    role: str  # "server", or the command holding it ("restore", "db upgrade")


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_NAME


def hold(data_dir: Path, role: str = SERVER) -> int:
    """Take the lock or raise DataDirBusy; returns the descriptor, to be kept open. A data
    directory that cannot be one raises DataPathError.

    The loser only reads: it neither truncates the lock file nor writes anything else."""
    ensure_dir(data_dir)
    lock = lock_path(data_dir)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise path_error(exc, lock, "the lock file") from None
    try:
        _lock_or_busy(fd, data_dir)
        # Who holds it, in the lock file itself: it is never older than the lock.
        os.ftruncate(fd, 0)
        os.pwrite(fd, _record(role).encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def exclusive(data_dir: Path, role: str) -> Iterator[None]:
    """Hold the data directory's lock for a command (restore, upgrade), or raise DataDirBusy
    when a server runs on it."""
    fd = hold(data_dir, role)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_or_busy(fd: int, data_dir: Path) -> None:
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            # A looking command (held()) lets go within microseconds; a server or a restore
            # holds on: only that is busy.
            if time.monotonic() >= deadline:
                raise DataDirBusy(data_dir, _read_holder(fd)) from None
        time.sleep(_RETRY_STEP)


def held(data_dir: Path) -> bool:
    """Does anyone hold the lock? Takes it shared for a moment and never creates anything."""
    try:
        fd = os.open(lock_path(data_dir), os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return False  # no server has ever run here (or the directory does not exist)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases a lock it took at once
    return False


def signal_server(data_dir: Path, sig: signal.Signals) -> int:
    """Send `sig` to the augenmass server running on `data_dir`; returns its pid.

    Raises NoServer, and signals nothing, when no process holds the lock or the pid in the
    lock file is not the augenmass server that wrote it."""
    pidfd, pid = _server_pidfd(data_dir)
    try:
        # Through the pidfd: the process checked is the process signalled, even if it ended
        # and its pid was given to another one in between.
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        raise NoServer(f"the augenmass server on {data_dir} has just ended") from None
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return pid


def read_holder(data_dir: Path) -> Holder | None:
    """What the lock file says about its holder (meaningful only while the lock is held)."""
    try:
        fd = os.open(lock_path(data_dir), os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return _read_holder(fd)
    finally:
        os.close(fd)


def _server_pidfd(data_dir: Path) -> tuple[int | None, int]:
    """A pidfd of the confirmed server (None where the kernel or a seccomp filter offers none)
    and its pid, or NoServer saying why not."""
    lock = lock_path(data_dir)
    try:
        running = held(data_dir)
    except OSError as exc:
        raise NoServer(f"cannot read {lock}: {exc.strerror or exc}") from None
    if not running:
        raise NoServer(f"no augenmass server is running on {data_dir} (nothing holds {lock})")
    holder = read_holder(data_dir)
    if holder is None:
        raise NoServer(f"{lock} is held but names no process; is a server just starting?")
    if holder.role != SERVER:
        raise NoServer(
            f"no augenmass server is running on {data_dir}: augenmass {holder.role} "
            f"(pid {holder.pid}) holds {lock}"
        )
    pidfd: int | None
    try:
        pidfd = os.pidfd_open(holder.pid)
    except ProcessLookupError:
        raise NoServer(f"{lock} is held, but pid {holder.pid} in it no longer exists") from None
    except OSError:
        pidfd = None  # checked all the same; only the moment between check and kill is open
    try:
        # Checked after the pidfd is open: from here on the pid cannot be reused under it.
        problem = _not_the_holder(holder)
        if problem:
            raise NoServer(f"{lock} is held, but pid {holder.pid} in it {problem}")
    except BaseException:
        if pidfd is not None:
            os.close(pidfd)
        raise
    return pidfd, holder.pid


def _not_the_holder(holder: Holder) -> str | None:
    """Why `holder.pid` is not the augenmass server that wrote the lock file, or None."""
    try:
        cmdline = Path(f"/proc/{holder.pid}/cmdline").read_bytes()
    except OSError:
        return "cannot be inspected (no /proc entry)"
    if b"augenmass" not in cmdline:
        shown = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()[:80]
        return f"is not an augenmass server ({shown or 'no command line'})"
    if holder.start is not None and holder.start != _start_ticks(holder.pid):
        return "is a later process than the one that took the lock"
    return None


def _record(role: str) -> str:
    pid = os.getpid()
    start = _start_ticks(pid)
    return f"{pid} {start if start is not None else '-'} {role}\n"


def _read_holder(fd: int) -> Holder | None:
    try:
        text = os.pread(fd, 128, 0).decode("ascii", "replace")
    except OSError:
        return None
    parts = text.split(maxsplit=2)
    if not parts or not parts[0].isdigit() or int(parts[0]) <= 0:
        return None
    start = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    role = parts[2].strip() if len(parts) > 2 else SERVER  # a bare pid: written by a server
    return Holder(int(parts[0]), start, role)


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
    Together with the pid it names one process for the whole uptime."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None
