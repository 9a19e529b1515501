"""Serve the FastAPI app (augenmass.api) on --listen with uvicorn, inside the server's loop.

No access log (it would carry client addresses), no proxy headers (X-Forwarded-For is never
read, so it cannot leak into anything), no Server header. The signals stay with
`augenmass.server.server.Server`: uvicorn's own handlers would take SIGTERM away from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from augenmass.server.server import Server

log = logging.getLogger("augenmass.http")

SHUTDOWN_GRACE = 5.0


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _DropColour(logging.Filter):
    """uvicorn attaches a terminal-coloured copy of some messages; our logfmt lines would
    carry it as an extra field full of escape codes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


_DROP_COLOUR = _DropColour()


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers (the Server owns SIGTERM/SIGHUP) and with one
    housekeeping tick a second instead of ten: at 100 checks/s the ten wake-ups of an otherwise
    idle loop cost more than a check. Setting `should_exit` still ends the wait at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit = asyncio.Event()
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._exit.is_set()

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            self._exit.set()
        else:
            self._exit.clear()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick refreshes the Date header when counter % 10 == 0: each tick is a second
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0)
            should_exit = await self.on_tick(counter)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves: a busy port is an OSError we report, where
    uvicorn would call sys.exit inside our event loop."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def make_config(server: Server) -> uvicorn.Config:
    from augenmass.server.control import Control
    from augenmass.web.site import create_site

    return uvicorn.Config(
        create_site(Control(server)),
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE),
        # Beyond this many open connections new ones get a 503 at once: a flood of requests
        # must not starve the scheduler of the event loop it shares.
        limit_concurrency=1000,
    )


async def serve(server: Server, listen: str) -> None:
    host, port = parse_listen(listen)
    try:
        sock = bind(host, port)
    except OSError as exc:
        log.error("cannot listen", extra={"listen": listen, "error": exc.strerror or str(exc)})
        raise
    server.listening.set()
    uv_log = logging.getLogger("uvicorn.error")
    if _DROP_COLOUR not in uv_log.filters:
        uv_log.addFilter(_DROP_COLOUR)
    web = _Uvicorn(make_config(server))
    task = asyncio.create_task(web.serve(sockets=[sock]), name="uvicorn")
    try:
        await asyncio.shield(task)
    finally:
        # Cancelled by Server.stop: let uvicorn close its connections gracefully.
        web.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, SHUTDOWN_GRACE + 2)
        sock.close()
