"""The server as systemd runs it: environment instead of options, the notify protocol on a real
datagram socket, and log lines for the journal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from augenmass.server.sdnotify import Notifier, socket_address, watchdog_seconds

from .helpers import CLI, free_port, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s}
hosts: {app: {address: 127.0.0.1}}
services:
  - {name: fine, host: app, check_interval: 1s, check: {type: dummy, state: ok, output: fine}}
  - {name: broken, host: app, check_interval: 1s, max_check_attempts: 1,
     check: {type: dummy, state: critical, output: disk on fire}}
"""


class NotifySocket:
    """What systemd listens on: a unix datagram socket; keeps every message it received."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages: list[dict[str, str]] = []
        self._next = 0

    def receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            self.messages.append(dict(f.split("=", 1) for f in data.decode().split("\n") if f))

    def wait(self, field: str, timeout: float = 20) -> dict[str, str]:
        """The next message (after the last one waited for) that has `field`."""

        def found() -> dict[str, str] | None:
            self.receive()
            for i in range(self._next, len(self.messages)):
                if field in self.messages[i]:
                    self._next = i + 1
                    return self.messages[i]
            return None

        message: dict[str, str] = wait_for(found, timeout, f"{field} on the notify socket")
        return message

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[NotifySocket, str]]:
    path = tmp_path / "notify.sock"
    sock = NotifySocket(str(path))
    yield sock, str(path)
    sock.close()


def test_ready_watchdog_reload_and_stop_reach_systemd_and_logs_suit_the_journal(
    tmp_path: Path, notify: tuple[NotifySocket, str]
) -> None:
    sock, address = notify
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    data = tmp_path / "data"
    port = free_port()
    log = tmp_path / "journal.log"
    with open(log, "wb") as logf:
        st = os.fstat(logf.fileno())
        env = {
            **os.environ,
            # no options: the unit passes the paths as these three variables
            "AUGENMASS_CONFIG": str(cfg),
            "AUGENMASS_DATA": str(data),
            "AUGENMASS_LISTEN": f"127.0.0.1:{port}",
            "NOTIFY_SOCKET": address,
            "WATCHDOG_USEC": "1000000",
            # stderr "is the journal": systemd names the stream by device and inode
            "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
        }
        proc = subprocess.Popen(
            [*CLI, "run"], env=env, stdout=logf, stderr=logf, start_new_session=True
        )
    try:
        ready = sock.wait("READY")
        assert ready["READY"] == "1"
        # ready means listening: the API answers at once
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
            assert resp.status == 200
        assert ready["STATUS"].startswith("3 checks, ")
        assert (data / "augenmass.db").exists()  # AUGENMASS_DATA was used

        first = sock.wait("WATCHDOG")
        assert first["WATCHDOG"] == "1"
        sock.wait("WATCHDOG")
        sock.wait("WATCHDOG")  # repeatedly, every half second
        wait_for(
            lambda: sock.receive() or _merged(sock).get("STATUS") == "3 checks, 1 problem",
            20,
            "the status line to count the broken service",
        )

        os.kill(proc.pid, signal.SIGHUP)
        reloading = sock.wait("RELOADING")
        assert reloading["RELOADING"] == "1"
        assert int(reloading["MONOTONIC_USEC"]) <= time.monotonic_ns() // 1000
        assert sock.wait("READY")["READY"] == "1"

        os.kill(proc.pid, signal.SIGTERM)
        assert sock.wait("STOPPING")["STOPPING"] == "1"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    lines = log.read_text().splitlines()
    started = next(line for line in lines if "msg=started" in line)
    # journald stamps lines itself and reads the priority from "<N>" (6 = info)
    assert started.startswith("<6>level=info logger=augenmass.server msg=started")
    assert "ts=" not in started
    assert all(line.startswith("<") for line in lines), lines


def _merged(sock: NotifySocket) -> dict[str, str]:
    """The latest value of each field, as systemd shows it."""
    merged: dict[str, str] = {}
    for message in sock.messages:
        merged.update(message)
    return merged


def test_the_abstract_namespace_is_reached_and_nothing_is_sent_without_a_socket(
    tmp_path: Path,
) -> None:
    name = f"augenmass-test-{os.getpid()}-{tmp_path.name}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    receiver.settimeout(5)
    try:
        notifier = Notifier(socket_address("@" + name), watchdog=None)
        notifier.ready("2 checks, 0 problems")
        assert receiver.recv(4096) == b"READY=1\nSTATUS=2 checks, 0 problems"
        notifier.close()
    finally:
        receiver.close()
    silent = Notifier(None, watchdog=10.0)
    assert not silent.enabled and silent.watchdog is None
    silent.ready("nothing")  # no socket: a no-op, not an error


def test_the_watchdog_interval_comes_from_systemd_and_only_for_this_process() -> None:
    assert watchdog_seconds({}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    mine = str(os.getpid())
    assert watchdog_seconds({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": mine}) == 2.0
    assert watchdog_seconds({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
