"""The resident probe server behind `augenmass probe` (started by cli/probeclient.py).

It imports the probe stack once and forks a process per call, which takes the caller's stdin,
stdout and stderr, working directory and environment and runs `run_probe_cli` exactly as the
in-process command would. The server itself stays single-threaded and never runs an event loop,
so a fork copies nothing half-done; a call that crashes takes only its own process.

It ends after AUGENMASS_PROBE_IDLE seconds without a call (default 600), at SIGTERM, or when a
source file of the code it loaded has changed (that call is answered "run it yourself").
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from augenmass.cli.probeclient import ACCEPTED, FALLBACK, MAGIC, RESULT

MAX_CALLS = 64  # running at once; beyond, callers run in-process
CALL_CAP = 3600  # seconds a forked call may live, whatever its timeout says
_READ_TIMEOUT = 5.0
_MAX_REQUEST = 4 * 1024 * 1024
_lock_fd = -1  # held while the server lives; a call closes its copy
# where OpenSSL finds the system CAs: a caller that names others gets contexts of its own
_CA_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_ca_env: tuple[str | None, ...] = ()


def _preload() -> None:
    """Import what the calls need, so each forked call starts with it loaded."""
    from augenmass.cli.probe import run_probe_cli  # noqa: F401
    from augenmass.config.checks import check_model
    from augenmass.probes import PROBES, probe_class
    from augenmass.probes.httpclient import tls_context
    from augenmass.runner import Runner  # noqa: F401

    for kind in PROBES:
        check_model(kind)
        with contextlib.suppress(Exception):  # a type that cannot load says so in its call
            probe_class(kind)  # classes only: an instance may hold sockets a fork would share
    global _ca_env
    _ca_env = tuple(os.environ.get(key) for key in _CA_ENV)
    tls_context()  # the system CAs, parsed once


def _sources() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every loaded augenmass source file."""
    found: dict[str, tuple[int, int]] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and (name == "augenmass" or name.startswith("augenmass.")):
            try:
                info = os.stat(path)
            except OSError:
                continue
            found[path] = (info.st_mtime_ns, info.st_size)
    return found


def _read(conn: socket.socket) -> tuple[list[int], bytes]:
    header, fds, _, _ = socket.recv_fds(conn, 8, 3)
    try:
        while len(header) < 8:
            more = conn.recv(8 - len(header))
            if not more:
                raise ValueError("short header")
            header += more
        if header[:4] != MAGIC or len(fds) != 3:
            raise ValueError("not a probe call")
        (size,) = struct.unpack("!I", header[4:])
        if size > _MAX_REQUEST:
            raise ValueError("request too large")
        body = bytearray()
        while len(body) < size:
            more = conn.recv(min(65536, size - len(body)))
            if not more:
                raise ValueError("short request")
            body += more
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds, bytes(body)


def _parse(body: bytes) -> tuple[str, list[str], dict[str, str]]:
    fields = [os.fsdecode(field) for field in body.split(b"\0")]
    cwd, count = fields[0], int(fields[1])
    args = fields[2 : 2 + count]
    env = dict(item.split("=", 1) for item in fields[2 + count :] if "=" in item)
    return cwd, args, env


def _stream(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace"
    )


def _call(conn: socket.socket, listener: socket.socket, fds: list[int], body: bytes) -> None:
    """In the forked process: become the caller's `augenmass probe` and exit."""
    code = 3
    try:
        listener.close()
        os.close(_lock_fd)  # a call that outlives the server must not keep a successor out
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.alarm(CALL_CAP)
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        sys.stdout, sys.stderr = _stream(1), _stream(2)
        cwd, args, env = _parse(body)
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        os.chdir(cwd)
        if tuple(os.environ.get(key) for key in _CA_ENV) != _ca_env:
            from augenmass.probes.httpclient import forget_tls_contexts

            forget_tls_contexts()
        from augenmass.cli.probe import run_probe_cli

        code = run_probe_cli(args[0], args[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 3
    except BaseException as exc:  # an internal error: one line, as a plugin would say it
        print(f"UNKNOWN - augenmass probe failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(BaseException):
            conn.sendall(RESULT + bytes([code & 0xFF]))
        os._exit(0)


class Server:
    def __init__(self, path: str, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.calls: set[int] = set()
        self.sources = _sources()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a dead server's: the lock says none is alive
        old = os.umask(0o177)
        try:
            self.listener.bind(path)
        finally:
            os.umask(old)
        self.inode = os.stat(path).st_ino
        self.listener.listen(128)

    def _reap(self) -> None:
        for pid in list(self.calls):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
            self.calls.discard(pid)

    def serve(self) -> None:
        last = time.monotonic()
        try:
            while True:
                self._reap()
                if not select.select([self.listener], [], [], 1.0)[0]:
                    if not self.calls and time.monotonic() - last > self.idle:
                        return
                    continue
                conn, _ = self.listener.accept()
                last = time.monotonic()
                with conn:
                    if not self._take(conn):
                        return
        finally:
            self.close()

    def _take(self, conn: socket.socket) -> bool:
        """Serve one connection; False when the server must end (its code changed)."""
        conn.settimeout(_READ_TIMEOUT)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            return True
        try:
            fds, body = _read(conn)
        except (OSError, ValueError):
            return True
        try:
            if _sources() != self.sources:
                conn.sendall(FALLBACK)
                return False
            if len(self.calls) >= MAX_CALLS:
                conn.sendall(FALLBACK)
                return True
            conn.sendall(ACCEPTED)
            pid = os.fork()
            if pid == 0:
                _call(conn, self.listener, fds, body)
            self.calls.add(pid)
        except OSError:
            pass
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return True

    def close(self) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:  # not a successor's socket
                os.unlink(self.path)


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    global _lock_fd
    path = argv[0]
    _lock_fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another call started one a moment ago
    idle = float(os.environ.get("AUGENMASS_PROBE_IDLE") or 600)
    _preload()
    os.chdir("/")  # not holding a caller's directory
    signal.signal(signal.SIGTERM, _stop)
    Server(path, idle).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
