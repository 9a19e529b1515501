"""Serve the FastAPI app (augenmass.api) on --listen with uvicorn, inside the server's loop.

No access log (it would carry client addresses), no Server header. X-Forwarded-For/-Proto are
read only from `settings.http.trusted_proxies` (none by default); the client address they
give is used in memory (login throttle) and never logged or stored. HTTPS with
`settings.http.tls_cert`/`tls_key`; the protocol's limits against idle, slow and oversized
clients are in httpproto.py. The signals stay with `augenmass.server.server.Server`: uvicorn's
own handlers would take SIGTERM away from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import socket
import ssl
from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from augenmass.core.plan import HttpSettings, Plan
from augenmass.server.httpproto import HEAD_TIMEOUT, KEEP_ALIVE, Connections, protocol_for
from augenmass.server.tls import Certificate, describe_error

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

    def __init__(self, config: uvicorn.Config, tls: ssl.SSLContext | None = None) -> None:
        self._exit = asyncio.Event()
        self._tls = tls
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

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up for our own sockets, with our TLS context and a handshake
        timeout: a client that connects and never says hello is closed like an idle one."""
        assert sockets is not None
        config = self.config
        loop = asyncio.get_running_loop()

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state={}, _loop=_loop
            )

        self.servers = [
            await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=self._tls,
                backlog=config.backlog,
                ssl_handshake_timeout=HEAD_TIMEOUT if self._tls else None,
            )
            for sock in sockets
        ]
        self.started = True

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


class Listener:
    """The site, its protocol limits, TLS and the session cookie, from `settings.http`;
    `reload` applies a new plan's values (a TLS switch on or off needs a restart)."""

    def __init__(self, server: Server, host: str) -> None:
        from augenmass.server.control import Control
        from augenmass.web.site import create_site

        http = server.plan.settings.http
        self.host = host
        self.http = http
        self.control = Control(server)
        self._secure_cookies(http.cookie_secure)
        self.connections = Connections(http.max_connections)
        self.certificate = None
        if http.tls_cert and http.tls_key:
            self.certificate = Certificate(http.tls_cert, http.tls_key)
        # Always wrapped, trusting nobody when no proxy is named: a reload can then name one.
        self.proxy = ProxyHeadersMiddleware(
            create_site(self.control),  # type: ignore[arg-type]
            list(http.trusted_proxies),
        )
        server.reload_hooks.append(self.reload)

    def _secure_cookies(self, secure: bool) -> None:
        from augenmass.api import auth

        # Set on the control's settings as they are now: whoever configured the rest of them
        # (the login throttle) keeps what they set.
        auth.settings(self.control).secure_cookies = secure

    def config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.proxy,
            http=protocol_for(self.connections),
            ws="none",
            access_log=False,
            log_config=None,
            proxy_headers=False,  # ours above, with the configured proxies only
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE),
            timeout_keep_alive=KEEP_ALIVE,
            # Requests in progress are limited by the protocol (MAX_REQUESTS), where idle
            # connections do not count; uvicorn's own limit counts them.
            limit_concurrency=None,
        )

    def reload(self, plan: Plan) -> None:
        new = plan.settings.http
        self._secure_cookies(new.cookie_secure)
        self.connections.limit = new.max_connections
        if new.trusted_proxies != self.http.trusted_proxies:
            self.proxy.trusted_hosts = ProxyHeadersMiddleware(
                self.proxy.app, list(new.trusted_proxies)
            ).trusted_hosts
        if self.certificate is not None and new.tls_cert and new.tls_key:
            self.certificate.reload(new.tls_cert, new.tls_key)
        elif new.tls != self.http.tls:
            log.warning(
                "reloaded; switching HTTPS on or off takes effect at the next restart",
                extra={"settings": "http.tls_cert, http.tls_key"},
            )
            new = replace(new, tls_cert=self.http.tls_cert, tls_key=self.http.tls_key)
        if plain_http_problem(self.host, self.http) is None:
            warn_plain_http(self.host, new)  # said once when it starts to apply, not per reload
        self.http = new


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: what it resolves to for browsers is not known here


def plain_http_problem(host: str, http: HttpSettings) -> str | None:
    """Why logins from other machines will fail on this listener, or None."""
    if http.tls or not http.cookie_secure or is_loopback(host) or http.trusted_proxies:
        return None
    return (
        "plain http on a non-loopback address: browsers send the Secure session cookie only"
        " over https (or to localhost), so logins from other machines will not stick. Set"
        " settings.http.tls_cert and tls_key, put a reverse proxy with HTTPS in front"
        " (docs/reverse-proxy.md, settings.http.trusted_proxies), or on a trusted LAN only"
        " set settings.http.cookie_secure: false"
    )


def warn_plain_http(host: str, http: HttpSettings) -> None:
    problem = plain_http_problem(host, http)
    if problem:
        log.warning(problem, extra={"listen_host": host})


FD_RESERVE = 512  # files the rest of the server holds: database, plugins' pipes, probes


def warn_fd_limit(max_connections: int) -> None:
    """The server raised its soft limit to the hard one at start (runner/fdlimit.py); past
    it, accept() fails and new clients wait however the connections are managed."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < max_connections + FD_RESERVE:
        log.warning(
            "the open-file limit is below settings.http.max_connections plus what the server"
            " needs besides; raise LimitNOFILE (systemd) or lower max_connections",
            extra={"limit": soft, "max_connections": max_connections},
        )


def _import_site() -> None:
    from augenmass.server import control  # noqa: F401
    from augenmass.web import site  # noqa: F401


async def serve(server: Server, listen: str) -> None:
    host, port = parse_listen(listen)
    # The web UI and API (FastAPI, Jinja2 ...) take a second to import: in a thread, so that
    # the scheduler starts the first checks meanwhile instead of after it (issue 17).
    await asyncio.to_thread(_import_site)
    try:
        listener = Listener(server, host)
    except (OSError, ssl.SSLError) as exc:
        log.error(
            "cannot load the TLS certificate",
            extra={"cert": server.plan.settings.http.tls_cert, "error": describe_error(exc)},
        )
        raise
    try:
        sock = bind(host, port)
    except OSError as exc:
        log.error("cannot listen", extra={"listen": listen, "error": exc.strerror or str(exc)})
        raise
    warn_plain_http(host, listener.http)
    warn_fd_limit(listener.http.max_connections)
    server.listening.set()
    uv_log = logging.getLogger("uvicorn.error")
    if _DROP_COLOUR not in uv_log.filters:
        uv_log.addFilter(_DROP_COLOUR)
    ctx = listener.certificate.context if listener.certificate else None
    web = _Uvicorn(listener.config(), ctx)
    task = asyncio.create_task(web.serve(sockets=[sock]), name="uvicorn")
    try:
        await asyncio.shield(task)
    finally:
        server.reload_hooks.remove(listener.reload)
        # Cancelled by Server.stop: let uvicorn close its connections gracefully.
        web.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, SHUTDOWN_GRACE + 2)
        sock.close()
