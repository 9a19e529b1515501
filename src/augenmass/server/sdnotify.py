"""systemd's notify protocol without a library: one datagram per message to $NOTIFY_SOCKET.

Type=notify units learn from it when the server is ready (listening, first plan loaded), when
a reload starts and ends, when it stops, and that its event loop is alive (the watchdog).
Outside systemd $NOTIFY_SOCKET is unset and every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("augenmass.systemd")


def socket_address(raw: str) -> str | None:
    """A path, or '@name' for Linux's abstract namespace (sent with a leading NUL byte)."""
    if raw.startswith("@"):
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None  # vsock and other forms systemd may grow: not for us


def watchdog_seconds(environ: Mapping[str, str] = os.environ) -> float | None:
    """The watchdog timeout systemd set for this process, if any."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (we were started by the unit's main one)
    return int(usec) / 1_000_000


class Notifier:
    def __init__(self, address: str | None, watchdog: float | None) -> None:
        self.address = address
        self.watchdog = watchdog if address else None
        self._sock: socket.socket | None = None
        self._status = ""

    @classmethod
    def from_env(cls) -> Notifier:
        raw = os.environ.get("NOTIFY_SOCKET", "")
        return cls(socket_address(raw) if raw else None, watchdog_seconds())

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> None:
        if self.address is None:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # a full queue drops a message, never stalls us
            self._sock.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            log.debug("sd_notify failed", extra={"error": str(exc)})

    def ready(self, status: str) -> None:
        self._status = status
        self.send("READY=1", f"STATUS={status}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets Type=notify-reload units match the reload to this message.
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.send(f"STATUS={status}")

    async def keepalive(self, status: Callable[[], str]) -> None:
        """Ping the watchdog every half timeout from the event loop (a stuck loop misses it)
        and keep STATUS= current; without a watchdog only the status, every 30 s."""
        interval = self.watchdog / 2 if self.watchdog else 30.0
        while True:
            await asyncio.sleep(interval)
            if self.watchdog:
                self.send("WATCHDOG=1")
            try:
                self.status(status())
            except Exception:  # the status line is cosmetic; never let it end the pings
                log.exception("status line failed")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
