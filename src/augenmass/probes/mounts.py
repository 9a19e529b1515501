"""Mounted file systems and their usage, for the `disk` probe.

The mount table comes from /proc/self/mountinfo (it escapes spaces in mount points, unlike
reading `mount` output). `statvfs` runs in a short-lived thread per mount point, because on a
dead NFS server it blocks in the kernel and cannot be cancelled: the check must still finish,
and a mount that is still hanging from an earlier run is reported, not probed again, so hung
threads never pile up.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

MOUNTINFO = "/proc/self/mountinfo"

# Kernel and virtual file systems that hold no user data, memory-backed ones (their "usage" is
# RAM), and read-only images that are always 100 % full. Naming a type in `fstypes` takes it in.
PSEUDO_FSTYPES = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
        "devtmpfs", "efivarfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fusectl",
        "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay.ro", "proc", "pstore", "ramfs",
        "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
        "udf",
    }
)  # fmt: skip

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True, slots=True)
class Mount:
    path: str
    fstype: str
    source: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Byte and inode figures as `df` computes them (domain.md §2)."""

    total: int  # f_blocks · f_frsize
    used: int  # (f_blocks − f_bfree) · f_frsize: reserved blocks are neither used nor free
    avail: int  # f_bavail · f_frsize: free for unprivileged users
    inodes: int
    inodes_free: int

    @property
    def used_pct(self) -> float:
        # df's Use%: reserved space counts as neither, so a full disk for users is 100 %
        base = self.used + self.avail
        return 100.0 * self.used / base if base else 0.0

    @property
    def inodes_used_pct(self) -> float | None:
        if self.inodes <= 0:  # btrfs, vfat, some FUSE: no fixed inode table
            return None
        return 100.0 * (self.inodes - self.inodes_free) / self.inodes


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts in table order; malformed lines are skipped (the kernel never writes them)."""
    found: list[Mount] = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 2:
            continue
        found.append(Mount(_unescape(fields[4]), _unescape(rest[0]), _unescape(rest[1])))
    return found


def read_mounts(path: str = MOUNTINFO) -> list[Mount]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return parse_mountinfo(handle.read())


@dataclass(frozen=True, slots=True)
class Selection:
    """Which mounts a disk check looks at. Patterns are shell globs (`/srv/*`, `ext*`)."""

    mounts: tuple[str, ...] = ()  # empty: every mount
    exclude_mounts: tuple[str, ...] = ()
    fstypes: tuple[str, ...] = ()  # empty: every type except the pseudo ones
    exclude_fstypes: tuple[str, ...] = ()
    include_pseudo: bool = False

    def wants(self, mount: Mount) -> bool:
        if self.mounts and not _any(mount.path, self.mounts):
            return False
        if _any(mount.path, self.exclude_mounts) or _any(mount.fstype, self.exclude_fstypes):
            return False
        if self.fstypes:
            return _any(mount.fstype, self.fstypes)
        return self.include_pseudo or mount.fstype not in PSEUDO_FSTYPES

    def pick(self, mounts: Iterable[Mount]) -> list[Mount]:
        """Wanted mounts, one per mount point; a later mount over the same point hides the
        earlier one, as the kernel does, so the last entry wins."""
        chosen: dict[str, Mount] = {}
        for mount in mounts:
            chosen.pop(mount.path, None)
            if self.wants(mount):
                chosen[mount.path] = mount
        return list(chosen.values())


def _any(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


class StatvfsHang(Exception):
    """statvfs did not return in time (a dead network file system)."""


# mount point → the event a still-running statvfs thread sets when it finally returns
_hanging: dict[str, threading.Event] = {}
_hanging_lock = threading.Lock()


def _usage(path: str) -> Usage:
    st = os.statvfs(path)
    unit = st.f_frsize or st.f_bsize
    return Usage(
        total=st.f_blocks * unit,
        used=max(0, st.f_blocks - st.f_bfree) * unit,
        avail=st.f_bavail * unit,
        inodes=st.f_files,
        inodes_free=st.f_ffree,
    )


async def usage(path: str, timeout: float) -> Usage:
    """statvfs of `path` within `timeout` seconds; raises StatvfsHang or OSError."""
    with _hanging_lock:
        if path in _hanging:
            raise StatvfsHang(f"statvfs still hanging from an earlier check on {path}")
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Usage] = loop.create_future()
    done = threading.Event()

    def deliver(result: Usage | BaseException) -> None:
        if future.done():  # the waiter gave up (timeout or cancelled)
            return
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    def work() -> None:
        result: Usage | BaseException
        try:
            result = _usage(path)
        except Exception as exc:  # OSError mostly; handed to the waiting coroutine
            result = exc
        with _hanging_lock:
            done.set()
            _hanging.pop(path, None)
        try:
            loop.call_soon_threadsafe(deliver, result)
        except RuntimeError:  # the loop closed while we were blocked: nobody waits any more
            pass

    threading.Thread(target=work, name="augenmass-statvfs", daemon=True).start()
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        with _hanging_lock:
            if not done.is_set():
                _hanging[path] = done
        raise StatvfsHang(f"statvfs did not return within {timeout:g} s on {path}") from None
