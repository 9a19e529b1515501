"""A lean HTTP/1.1 client for probes: one request per connection, asyncio + httptools.

Why not aiohttp: a check makes one request and throws the connection away, so a session, a pool
and cookie jars are pure overhead; the benchmark wants an HTTP check in well under a CPU
millisecond. What is kept correct: content-length, chunked and close-delimited bodies, HEAD,
1xx interim responses, a cap on headers and body (a 1 GB body is never read whole), TLS with SNI,
and the SSRF policy on the resolved address of every connection.

Timings are per phase, in seconds: dns, connect, tls, firstbyte (request sent → first byte),
total.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools

from augenmass.core.clock import Clock, SystemClock
from augenmass.probes import netpolicy

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200
_SYSTEM_CLOCK = SystemClock()


class HttpError(Exception):
    """The exchange failed; `phase` says where (connect, tls, response)."""

    def __init__(self, phase: str, message: str) -> None:
        super().__init__(message)
        self.phase = phase


@dataclass(slots=True)
class Timings:
    dns: float = 0.0
    connect: float = 0.0
    tls: float = 0.0
    firstbyte: float = 0.0
    total: float = 0.0

    def add(self, other: Timings) -> None:
        self.dns += other.dns
        self.connect += other.connect
        self.tls += other.tls
        self.firstbyte += other.firstbyte
        self.total += other.total


@dataclass(frozen=True, slots=True)
class Request:
    """Frozen: a check's first request is prepared once and shared by all its runs."""

    method: str
    scheme: str  # http or https
    host: str  # name or IP (no brackets): SNI, certificate name and Host header
    port: int
    target: str  # path and query, already safe for the request line
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    connect_to: str | None = None  # connect here instead of resolving `host`


@dataclass(slots=True)
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes  # at most the cap
    size: int  # body bytes received (more than len(body) when truncated)
    truncated: bool
    timings: Timings
    address: str  # the IP connected to

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


_CONTEXTS: dict[tuple[bool, str | None], ssl.SSLContext] = {}


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """A cached client context: loading the system CAs costs milliseconds, paid once."""
    key = (verify, ca_file)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = ssl.create_default_context(cafile=ca_file)
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        _CONTEXTS[key] = ctx
    return ctx


def forget_tls_contexts() -> None:
    """Drop the cached contexts: the next ones load the CAs anew (SSL_CERT_FILE may differ)."""
    _CONTEXTS.clear()


def request_bytes(req: Request) -> bytes:
    host = f"[{req.host}]" if ":" in req.host else req.host
    default_port = 443 if req.scheme == "https" else 80
    if req.port != default_port:
        host = f"{host}:{req.port}"
    lines = [
        f"{req.method} {req.target} HTTP/1.1",
        f"Host: {host}",
        "User-Agent: augenmass (monitoring)",
        "Accept: */*",
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    names = {"host", "user-agent", "accept", "accept-encoding", "connection"}
    lines = [ln for ln in lines if ln.split(":", 1)[0].lower() not in _given(req, names)]
    lines.extend(f"{name}: {value}" for name, value in req.headers)
    if req.body or req.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(req.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body


def _given(req: Request, names: set[str]) -> set[str]:
    # a header the check sets replaces our default of the same name
    return {n.lower() for n, _ in req.headers if n.lower() in names}


class _ResponseReader(asyncio.Protocol):
    """Feeds httptools and resolves `done` once the response is complete (or capped)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        head_only: bool,
        cap: int,
        now: Callable[[], float],
    ) -> None:
        self.parser: Any = httptools.HttpResponseParser(self)  # None once released
        self.now = now  # the clock's monotonic(), for the time to first byte
        self.done: asyncio.Future[None] = loop.create_future()
        self.head_only = head_only
        self.cap = cap
        self.status = 0
        self.reason = bytearray()
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.size = 0
        self.truncated = False
        self.head_bytes = 0
        self.headers_done = False
        self.first_byte: float | None = None
        self.transport: asyncio.BaseTransport | None = None

    # --- asyncio side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.done.done() or self.parser is None:
            return
        if self.first_byte is None:
            self.first_byte = self.now()
        if not self.headers_done:
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish()
        except httptools.HttpParserError as exc:
            self._fail(HttpError("response", f"malformed HTTP response: {exc}"))
            return
        if not self.headers_done and self.head_bytes > MAX_HEADER_BYTES:
            self._fail(HttpError("response", "response headers larger than 64 KiB"))

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if self.headers_done and self._close_delimited():
            self._finish()
        elif self.first_byte is None:
            self._fail(HttpError("response", "connection closed without a response"))
        else:
            self._fail(HttpError("response", "connection closed before the response was complete"))

    # --- httptools callbacks
    def on_status(self, data: bytes) -> None:
        if len(self.reason) < 200:
            self.reason += data[:200]

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            self._fail(HttpError("response", f"more than {MAX_HEADERS} response headers"))
            return
        self.headers.append(
            (name.decode("latin-1").lower(), value.decode("latin-1", "replace").strip())
        )

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # an interim response (100 Continue, 103 Early Hints): the real one follows
            self.headers.clear()
            self.reason.clear()
            return
        self.status = status
        self.headers_done = True
        if self.head_only:
            self._finish()

    def on_body(self, data: bytes) -> None:
        if self.done.done():
            return
        self.size += len(data)
        room = self.cap - len(self.body)
        if room > 0:
            self.body += data[:room]
        if self.size > self.cap:
            self.truncated = True
            self._finish()  # stop here: the rest of a huge body is never read

    def on_message_complete(self) -> None:
        if self.headers_done:
            self._finish()

    # --- helpers
    def _close_delimited(self) -> bool:
        names = {name for name, _ in self.headers}
        if "content-length" in names:
            return False
        encoding = ",".join(v for n, v in self.headers if n == "transfer-encoding").lower()
        return "chunked" not in encoding

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def release(self) -> str:
        """The exchange is over: the HTTP version read, and the reader's reference cycles
        (parser and reader, transport and reader) broken, so all of it is freed at once rather
        than by the cyclic collector (18 objects per check, a socket among them)."""
        version = _version(self.parser)
        self.parser = None
        self.transport = None
        return version

    def discard(self) -> None:
        """The connection is dropped before the request: nothing will await `done`."""
        if not self.done.done():
            self.done.cancel()
        elif not self.done.cancelled():
            self.done.exception()  # retrieved, so asyncio does not log it as forgotten

    def _fail(self, error: HttpError) -> None:
        if not self.done.done():
            self.done.set_exception(error)
        if self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]


async def _connect(
    endpoints: list[netpolicy.Endpoint], allow_link_local: bool
) -> tuple[socket.socket, str]:
    """A connected socket to the first endpoint that answers, its peer checked (TLS goes on it)."""
    sock, sockaddr = await netpolicy.connect_socket(endpoints, allow_link_local)
    return sock, str(sockaddr[0])


async def _handshake(
    loop: asyncio.AbstractEventLoop,
    reader: _ResponseReader,
    sock: socket.socket,
    ctx: ssl.SSLContext,
    host: str,
) -> asyncio.Transport:
    try:
        transport, _ = await loop.create_connection(
            lambda: reader,
            sock=sock,
            ssl=ctx,
            server_hostname=host,
            ssl_handshake_timeout=3600.0,  # the caller's deadline rules
        )
    except ssl.SSLCertVerificationError as exc:
        raise HttpError("tls", f"certificate not valid: {exc.verify_message}") from None
    except (ssl.SSLError, ConnectionError) as exc:
        raise HttpError("tls", _os_text(exc)) from None
    return transport


async def _open(
    loop: asyncio.AbstractEventLoop,
    reader: _ResponseReader,
    endpoints: list[netpolicy.Endpoint],
    allow_link_local: bool,
) -> tuple[asyncio.Transport, str]:
    """Plain TCP to the first endpoint that answers. The loop makes the socket itself: in
    uvloop that costs about half of socket() + sock_connect() + create_connection(sock=...)."""
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in endpoints:
        try:
            # an IP literal (with %zone when scoped): the loop does not ask the resolver again
            transport, _ = await loop.create_connection(
                lambda: reader, str(sockaddr[0]), sockaddr[1], family=family
            )
        except OSError as exc:
            error = exc
            continue
        try:
            netpolicy.check_peer(transport.get_extra_info("peername"), allow_link_local)
        except BaseException:
            reader.discard()
            transport.abort()
            raise
        return transport, str(sockaddr[0])
    raise error


async def fetch(
    req: Request,
    *,
    ctx: ssl.SSLContext | None = None,
    allow_link_local: bool = False,
    family: int = socket.AF_UNSPEC,
    body_cap: int = 1024 * 1024,
    wire: bytes | None = None,
    clock: Clock | None = None,
) -> Response:
    """One request, one connection. `wire` is request_bytes(req) when the caller has it already.
    Raises HttpError, netpolicy.AddressRefused, OSError (socket.gaierror for names),
    ssl.SSLError; the caller bounds it in time. The timings come from `clock` (the system's
    by default)."""
    loop = asyncio.get_running_loop()
    timings = Timings()
    now = (clock or _SYSTEM_CLOCK).monotonic
    t0 = now()
    endpoints = await netpolicy.resolve(
        req.connect_to or req.host, req.port, allow_link_local, family
    )
    t1 = now()
    timings.dns = t1 - t0
    reader = _ResponseReader(loop, req.method == "HEAD", body_cap, now)
    transport: asyncio.Transport | None = None
    sock: socket.socket | None = None
    try:
        if req.scheme == "https":
            # connect and check the peer before the ClientHello, so the phases stay apart
            sock, address = await _connect(endpoints, allow_link_local)
            t2 = now()
            if ctx is None:
                ctx = tls_context()
            transport = await _handshake(loop, reader, sock, ctx, req.host)
            t3 = now()
            timings.tls = t3 - t2
        else:
            transport, address = await _open(loop, reader, endpoints, allow_link_local)
            t2 = t3 = now()
        timings.connect = t2 - t1
        transport.write(request_bytes(req) if wire is None else wire)
        await reader.done
        t4 = now()
        timings.firstbyte = (reader.first_byte or t4) - t3
        timings.total = t4 - t0
    finally:
        if transport is not None:
            transport.abort()
        if sock is not None:
            sock.close()
        version = reader.release()
    return Response(
        status=reader.status,
        reason=reader.reason.decode("latin-1", "replace"),
        version=version,
        headers=reader.headers,
        body=bytes(reader.body),
        size=reader.size,
        truncated=reader.truncated,
        timings=timings,
        address=address,
    )


def _version(parser: Any) -> str:
    try:
        return str(parser.get_http_version())
    except Exception:  # before a status line was parsed
        return "1.1"


def _os_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__
