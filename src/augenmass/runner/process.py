"""Run one external program under a deadline, without a shell, threads or pipe-EOF waits.

- The child gets its own session (so its own process group); everything in that group is
  killed when the check ends, whether it exited, timed out or was cancelled.
- The end of a check is the child's exit (seen through a pidfd) or the deadline; never pipe EOF,
  so a grandchild holding stdout open cannot stall us.
- stdout and stderr are read as they arrive, kept up to `limit` bytes each and drained beyond
  that, so the child never blocks on a full pipe and our memory stays flat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

TERM_GRACE = 1.0  # seconds between SIGTERM and SIGKILL
KILL_WAIT = 2.0  # how long to wait for a SIGKILLed child before handing it to a background reaper
_READ_SIZE = 65536
_DRAIN_MAX = 1 << 20  # bytes read after exit at most; a writing grandchild cannot keep us here


@dataclass(frozen=True, slots=True)
class ProcessRun:
    returncode: int | None  # negative: killed by that signal; None: could not be reaped in time
    stdout: bytes
    stderr: bytes
    stdout_dropped: int  # bytes beyond the limit that were read and discarded
    stderr_dropped: int
    timed_out: bool


class _Capture:
    """Collects one pipe into a capped buffer from reader callbacks on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, limit: int) -> None:
        self.loop, self.fd, self.limit = loop, fd, limit
        self.data = bytearray()
        self.dropped = 0
        self.open = True
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        self._read_once()

    def _read_once(self) -> int:
        """Bytes read; 0 at EOF or when nothing is waiting."""
        try:
            chunk = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return 0
        except OSError:
            chunk = b""
        if not chunk:
            self._stop_reading()
            return 0
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))
        return len(chunk)

    def drain(self) -> None:
        """Take what is already in the pipe, bounded (called once the child has exited)."""
        total = 0
        while self.open and total < _DRAIN_MAX:
            got = self._read_once()
            if not got:
                break
            total += got

    def _stop_reading(self) -> None:
        if self.open:
            self.open = False
            self.loop.remove_reader(self.fd)

    def close(self) -> None:
        self._stop_reading()
        os.close(self.fd)


class _ExitWatch:
    """Tells when a child has exited, without reaping it (so its pid and group stay reserved
    until we have killed the rest of the group)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, proc: subprocess.Popen[bytes]) -> None:
        self.loop, self.proc = loop, proc
        self.exited: asyncio.Future[None] = loop.create_future()
        self.pidfd: int | None = None
        try:
            self.pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # old kernel: fall back to polling in wait()
            return
        loop.add_reader(self.pidfd, self._ready)

    def _ready(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)
        if self.pidfd is not None:
            self.loop.remove_reader(self.pidfd)

    async def wait(self, timeout: float) -> bool:
        if self.pidfd is None:
            return await self._poll(timeout)
        if not self.exited.done():
            await asyncio.wait([self.exited], timeout=max(0.0, timeout))
        return self.exited.done()

    async def _poll(self, timeout: float) -> bool:
        # The same deadline as the pidfd wait above, so on the loop's clock too: it bounds how
        # long a real process may run, which a fake Clock must not stretch.
        deadline = self.loop.time() + timeout
        while True:  # bounded by the deadline
            if _has_exited(self.proc.pid):
                return True
            if self.loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)

    def reap(self) -> int | None:
        """Collect the exit status, then release the pidfd. None if it is still running."""
        code = self.proc.poll()
        if code is not None:
            self.close()
        return code

    def reap_later(self) -> None:
        """Unkillable (EPERM, D state): free the check slot; reap whenever it finally exits."""
        if self.pidfd is None or self.exited.done():
            if self.reap() is None:
                self.loop.call_later(1.0, self.reap_later)
            return
        self.exited.add_done_callback(lambda _: self.reap())

    def close(self) -> None:
        if self.pidfd is not None:
            if not self.exited.done():
                self.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None


def _has_exited(pid: int) -> bool:
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(pgid: int, sig: signal.Signals) -> bool:
    """Signal a whole process group; False if we may not (a setuid plugin, EPERM)."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return True
    except PermissionError:
        log.warning("cannot send %s to plugin process group %d: permission denied", sig.name, pgid)
        return False
    return True


def spawn(argv: Sequence[str], env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start argv in a new session; returns the process and the read ends of stdout, stderr.
    Raises OSError (not found, not executable, ...) or ValueError (NUL in an argument)."""
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    return proc, out_r, err_r


async def run_process(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, limit: int
) -> ProcessRun:
    """Run argv to its end or the deadline. Raises what `spawn` raises; nothing after that."""
    loop = asyncio.get_running_loop()
    proc, out_fd, err_fd = spawn(argv, env)
    out = err = None
    watch = _ExitWatch(loop, proc)
    finished = False
    try:
        out = _Capture(loop, out_fd, limit)
        out_fd = -1
        err = _Capture(loop, err_fd, limit)
        err_fd = -1
        timed_out = not await watch.wait(timeout)
        exited = not timed_out or await _terminate(proc.pid, watch)
        out.drain()
        err.drain()
        # The leader is a zombie, not reaped: its pgid cannot be reused while we kill the rest.
        _kill_group(proc.pid, signal.SIGKILL)
        code = watch.reap() if exited else None
        if code is None:
            watch.reap_later()
        finished = True
        return ProcessRun(
            code, bytes(out.data), bytes(err.data), out.dropped, err.dropped, timed_out
        )
    finally:
        if not finished:  # cancelled or failed midway: leave nothing running behind
            _kill_group(proc.pid, signal.SIGKILL)
            watch.reap_later()
        for capture, fd in ((out, out_fd), (err, err_fd)):
            if capture is not None:
                capture.close()
            elif fd >= 0:
                os.close(fd)


async def _terminate(pgid: int, watch: _ExitWatch) -> bool:
    """SIGTERM the group, wait the grace period, SIGKILL it. True once the leader has exited."""
    _kill_group(pgid, signal.SIGTERM)
    if await watch.wait(TERM_GRACE):
        return True
    if not _kill_group(pgid, signal.SIGKILL):
        return False
    return await watch.wait(KILL_WAIT)
