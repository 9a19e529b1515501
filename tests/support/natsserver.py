"""A real `nats-server -js` for a test module: its own free port and store directory, so a test
can stop and restart it (the store, and so the streams, survive a restart).

Skips with the reason when the binary is missing, except under CI=true (`make test` installs
Debian's nats-server; its service is disabled, the tests run their own)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY = shutil.which("nats-server") or "/usr/sbin/nats-server"


def nats_missing() -> str | None:
    if os.access(BINARY, os.X_OK):
        return None
    reason = "nats-server is not installed (Debian package nats-server)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    return reason


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    def __init__(self, directory: Path, config: str | None = None) -> None:
        self.dir = directory
        self.port = free_port()
        self.config = config  # nats-server config text (users, permissions); None: open
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [BINARY, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.dir)]
        if self.config is not None:
            path = self.dir / "nats.conf"
            path.write_text(self.config)
            args += ["-c", str(path)]
        log = open(self.dir / "nats.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {(self.dir / 'nats.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not listen within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
