"""`augenmass probe` as a Nagios plugin: hand the call to a resident probe server.

A plugin runs once per check. Loading the probe stack (asyncio, pydantic, the option models)
costs ten times what a check does, so the first call starts a resident server
(cli/probeserver.py) that has it all imported and forks a process per call. This module is
what each call pays for: the standard library's socket, no asyncio, no pydantic.

The call hands over its stdin, stdout and stderr (SCM_RIGHTS), its working directory, argv and
environment; the forked process writes the plugin output straight into the caller's pipes and
sends back the exit code. So the output, exit code, environment and relative paths are the
same as in-process. Whenever the server cannot take the call (none yet, stale code, busy, an
unsafe socket directory), the caller runs the probe in-process as before: never a worse result,
only a slower one.

Off with AUGENMASS_PROBE_RESIDENT=0. The socket lives in $XDG_RUNTIME_DIR/augenmass/ (else
$TMPDIR/augenmass-UID/), a directory only this user may enter; the server also checks the
caller's uid.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import struct
import sys
import zlib

MAGIC = b"AMP1"
ACCEPTED, FALLBACK, RESULT = b"A", b"F", b"R"
_TYPE = re.compile(r"[a-z][a-z0-9-]{0,40}")
_OFF = {"0", "off", "no", "false"}
_MAX_PATH = 107  # AF_UNIX paths: 108 bytes on Linux with the closing NUL


def socket_dir() -> str | None:
    """This user's private directory for the socket, made if missing; None when it is not
    safe (not a directory, another owner, open to others) or cannot be made."""
    uid = os.getuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/"):
        path = os.path.join(runtime, "augenmass")
    else:
        path = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"augenmass-{uid}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
        return None
    return path


def socket_path() -> str | None:
    """The socket of the server for this code and interpreter: another install or version
    has its own, so a call never reaches a server running other code."""
    directory = socket_dir()
    if directory is None:
        return None
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    tag = zlib.crc32(f"{package}\0{sys.executable}".encode(errors="surrogateescape"))
    path = os.path.join(directory, f"probe-{tag:08x}.sock")
    return path if len(os.fsencode(path)) <= _MAX_PATH else None


def _request(args: list[str]) -> bytes:
    fields = [os.getcwd(), str(len(args)), *args]
    fields += [f"{key}={value}" for key, value in os.environ.items()]
    return b"\0".join(os.fsencode(field) for field in fields)


def _spawn(path: str) -> None:
    """Start the server in its own session (it outlives this call), quiet, and do not wait:
    this call runs in-process; the next one finds the server."""
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
    ]
    argv = [sys.executable, "-m", "augenmass.cli.probeserver", path]
    try:
        os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions, setsid=True)
    except OSError:
        pass  # no resident server: every call runs in-process


def call(args: list[str]) -> int | None:
    """The exit code of `augenmass probe ARGS` run by the resident server, or None when the
    caller must run it itself."""
    if os.environ.get("AUGENMASS_PROBE_RESIDENT", "").lower() in _OFF:
        return None
    if not args or not _TYPE.fullmatch(args[0]):
        return None  # `probe --help`, a mistyped option: the full command line says it best
    path = socket_path()
    if path is None:
        return None
    try:
        body = _request(args)
    except (OSError, ValueError):
        return None  # a working directory that is gone; NUL cannot occur in argv or environ
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            _spawn(path)
            return None
        header = MAGIC + struct.pack("!I", len(body))
        socket.send_fds(sock, [header], [0, 1, 2])
        sock.sendall(body)
        answer = sock.recv(1)
        if answer != ACCEPTED:
            return None  # FALLBACK or gone before taking the call: nothing was written yet
        result = sock.recv(2)
    except OSError:
        return None
    finally:
        sock.close()
    if len(result) == 2 and result[:1] == RESULT:
        return result[1]
    # Taken but ended without a result: output may be half written, so no second run.
    print("UNKNOWN - the resident probe server ended the call without a result", file=sys.stderr)
    return 3
