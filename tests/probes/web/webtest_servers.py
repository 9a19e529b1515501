"""Real servers for the web probe tests, on 127.0.0.1 / ::1, written on raw asyncio streams so
the tests control every byte: chunked and close-delimited bodies, a 1 GB body, a server that
drips one byte per second, garbage instead of HTTP, a TLS handshake that stalls, STARTTLS
dialogues for SMTP, IMAP and POP3.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HUGE = 1024**3  # the 1 GB body the huge endpoint announces


@dataclass
class Running:
    server: asyncio.Server
    host: str
    port: int
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str = "/", scheme: str = "http") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{path}"


@contextlib.asynccontextmanager
async def serve(
    handler: Handler, host: str = "127.0.0.1", ssl_ctx: ssl.SSLContext | None = None
) -> AsyncIterator[Running]:
    """Run `handler` per connection; on exit close the server and cancel what still runs."""
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.LimitOverrunError):
            pass  # the probe hung up: that is its right
        except asyncio.CancelledError:
            pass  # server shutdown; ending normally spares 3.11's stream callback a traceback
        finally:
            tasks.discard(task)
            writer.transport.abort()

    server = await asyncio.start_server(wrapped, host, 0, ssl=ssl_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Running(server, host, port, tasks)
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        if tasks:
            await asyncio.wait(list(tasks), timeout=2)
        await server.wait_closed()


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> HttpRequest:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(method, path, headers, body)


def response(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, reason: str = "X"
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


JSON_DOC = {"status": {"db": "ok", "connections": 3}, "items": [{"name": "a"}, {"name": "b"}]}
AUTH = "Basic " + base64.b64encode(b"monitor:s3cret").decode()


async def http_app(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The endpoints the HTTP tests use; the path picks the behaviour."""
    req = await read_request(reader)
    path = req.path
    if path.startswith("/status/"):
        writer.write(response(int(path.split("/")[2])))
    elif path == "/ok":
        writer.write(response(200, b"hello world, all systems nominal", reason="OK"))
    elif path.startswith("/redirect/"):
        left = int(path.split("/")[2])
        if left <= 0:
            writer.write(response(200, b"arrived", reason="OK"))
        else:
            writer.write(response(302, headers={"Location": f"/redirect/{left - 1}"}))
    elif path == "/loop":
        writer.write(response(302, headers={"Location": "/loop"}))
    elif path == "/meta":
        writer.write(response(302, headers={"Location": "http://169.254.169.254/latest/"}))
    elif path == "/file":
        writer.write(response(302, headers={"Location": "file:///etc/passwd"}))
    elif path == "/json":
        writer.write(response(200, json.dumps(JSON_DOC).encode(), {"Content-Type": "x/json"}))
    elif path == "/chunked":
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (b"first ", b"second ", b"needle third"):
            writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
    elif path == "/close":
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nbody until the connection closes, needle")
    elif path == "/truncated":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
    elif path == "/huge":
        await _huge(writer)
    elif path == "/drip":
        await _drip(writer, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    elif path == "/garbage":
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage\r\n\r\n")
    elif path == "/auth":
        ok = req.headers.get("authorization") == AUTH
        writer.write(response(200 if ok else 401, b"secret area"))
    elif path == "/method":
        writer.write(response(200, f"{req.method} {len(req.body)}".encode()))
    elif path == "/headers":
        writer.write(response(200, json.dumps(req.headers).encode()))
    else:
        writer.write(response(404, b"not found"))
    await writer.drain()


async def _huge(writer: asyncio.StreamWriter) -> None:
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE}\r\n\r\n".encode())
    chunk = b"x" * 65536
    for _ in range(HUGE // len(chunk)):  # bounded; ends when the client hangs up
        writer.write(chunk)
        await writer.drain()


async def _drip(writer: asyncio.StreamWriter, data: bytes) -> None:
    for index in range(len(data)):
        writer.write(data[index : index + 1])
        await writer.drain()
        await asyncio.sleep(1.0)


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts and says nothing: a TLS handshake or a request that stalls."""
    await asyncio.sleep(30)


async def tls_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Behind TLS: answer one HTTP request (or nothing, when the client only wanted the
    certificate)."""
    try:
        await read_request(reader)
    except (asyncio.IncompleteReadError, ValueError):
        return
    writer.write(response(200, b"secure hello", reason="OK"))
    await writer.drain()


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so weak test certificates can be served at all
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


# --- STARTTLS ----------------------------------------------------------------------------------


def starttls_app(
    proto: str, ctx: ssl.SSLContext, offer: bool = True, injected: bytes = b""
) -> Handler:
    """A plain-text greeting, the protocol's upgrade command, then TLS. `injected`: plain text
    sent in the same write as the "go ahead" answer (what a man in the middle would add)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if proto == "smtp":
            writer.write(b"220-mail.test ESMTP\r\n220 ready\r\n")
            await reader.readline()  # EHLO
            extra = b"250-STARTTLS\r\n" if offer else b""
            writer.write(b"250-mail.test\r\n250-SIZE 1000\r\n" + extra + b"250 HELP\r\n")
            line = await reader.readline()
            if not line.upper().startswith(b"STARTTLS"):
                writer.write(b"502 no\r\n")
                return
            writer.write(b"220 go ahead\r\n" + injected)
        elif proto == "imap":
            writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
            tag = (await reader.readline()).split(b" ")[0]
            writer.write(b"* note\r\n" + tag + b" OK begin TLS\r\n" + injected)
        elif proto == "pop3":
            writer.write(b"+OK POP3 ready\r\n")
            await reader.readline()
            writer.write(b"+OK begin TLS\r\n" + injected)
        await writer.drain()
        await writer.start_tls(ctx)
        await asyncio.sleep(5)  # hold the connection until the probe hangs up

    return handler
