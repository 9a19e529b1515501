"""Run the real `augenmass` command as a separate process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "augenmass"]


def cli(*args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
        except RuntimeError:
            raise  # a final answer (the server exited), not "not yet"
        except Exception as exc:  # the server may not be up yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


class ServerProcess:
    def __init__(
        self, config: Path, data: Path, store: str | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.config, self.data, self.store = config, data, store
        self.args = args  # more options of `augenmass run`
        self.port = free_port()
        self.log = data / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._logf: Any = None

    def start(self) -> ServerProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._logf = logf = open(self.log, "ab")  # noqa: SIM115 - closed when the process ends
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
                *(["--store", self.store] if self.store else []),
                *self.args,
            ],
            stdout=logf,
            stderr=logf,
            start_new_session=True,
        )
        wait_for(self._up, 30, "the server's health endpoint")
        return self

    def _up(self) -> dict[str, Any] | None:
        assert self.proc is not None
        if self.proc.poll() is not None:  # it exited: say why at once, not after the timeout
            raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
        try:
            return self.health()
        except OSError:
            return None

    def health(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
        url = f"http://127.0.0.1:{self.port}/api/health"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def status(self, all_: bool = True) -> dict[str, dict[str, Any]]:
        args = ["status", "--json", "--data", str(self.data)] + (["--all"] if all_ else [])
        if self.store:
            args += ["--store", self.store]
        out = cli(*args, check=True)
        rows = json.loads(out.stdout)
        return {f"{r['host']}/{r['service']}" if r["service"] else r["host"]: r for r in rows}

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._logf is not None:
            self._logf.close()
            self._logf = None

    def series(self, host: str, service: str, label: str) -> list[Any]:
        import asyncio

        from augenmass.core.values import CheckKey
        from augenmass.store import open_store

        async def read() -> list[Any]:
            store = await open_store(f"sqlite:///{self.data / 'augenmass.db'}")
            try:
                key = CheckKey(host, service)
                return await store.series_points(key, label, 0, 4e9, resolution="raw")
            finally:
                await store.close()

        return asyncio.run(read())

    def history(self, host: str, service: str | None) -> list[Any]:
        """State-change history from the store, oldest first."""
        import asyncio

        from augenmass.core.values import CheckKey
        from augenmass.store import open_store

        async def read() -> list[Any]:
            store = await open_store(f"sqlite:///{self.data / 'augenmass.db'}")
            try:
                events = await store.history(CheckKey(host, service), 0, 4e9, limit=10_000)
            finally:
                await store.close()
            return list(reversed(events))

        return asyncio.run(read())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._close_log()
