"""The real `augenmass run` process for the end-to-end API tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

CLI = [sys.executable, "-m", "augenmass"]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, config: Path, data: Path) -> None:
        self.config, self.data = config, data
        self.port = free_port()
        self.log = data / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._logf: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        self._logf = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *CLI,
                "run",
                "--config",
                str(self.config),
                "--data",
                str(self.data),
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            stdout=self._logf,
            stderr=self._logf,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not come up: {self.log.read_text()}")

    def stop(self) -> int:
        code = 0
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                code = self.proc.wait(timeout=10)
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        return code

    def files(self) -> dict[Path, bytes]:
        """Every file the server wrote: log, database, WAL, sidecar."""
        return {p: p.read_bytes() for p in self.data.rglob("*") if p.is_file()}


def client(server: ServerProcess, source: str = "127.0.0.1", **kw: Any) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.url, transport=transport, timeout=10, **kw)
