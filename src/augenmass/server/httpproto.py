"""uvicorn's httptools protocol with the limits a server on the open internet needs.

uvicorn alone lets a connection that sends nothing, or a header byte every few seconds, stay
open for ever, reads a request head of any size into memory, and counts idle connections
against `limit_concurrency` (past it: 503 for everyone). Here, per connection:

- the whole request head must arrive within HEAD_TIMEOUT of the connection (or of the previous
  answer), else the connection is closed; an idle keep-alive connection goes after KEEP_ALIVE;
- a head over MAX_HEAD bytes or MAX_FIELDS header fields is answered 431 and the connection
  closed, before more of it is held in memory;
- a request body must be complete within BODY_TIMEOUT of its head, and a client that stops
  reading its answer is dropped after WRITE_STALL;
- at most `max_connections` are open: a new one closes the connection idle the longest (no
  request in progress), so idle and slow sockets cannot lock anyone out;
- at most MAX_REQUESTS requests run at once (503 beyond), which no idle socket counts toward.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, ClassVar

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_TIMEOUT = 10.0
KEEP_ALIVE = 5
BODY_TIMEOUT = 60.0  # the largest body (1 MiB) at 17 KiB/s
WRITE_STALL = 30.0  # an answer the client does not read on (its buffers full) for this long
MAX_HEAD = 16 * 1024
MAX_FIELDS = 100
MAX_REQUESTS = 1000

_REFUSAL = b"request header fields too large\n"
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_REFUSAL)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _REFUSAL
)


class _HeadTooLarge(Exception):
    pass


class Connections:
    """The open connections of one listener; those without a request in progress, oldest
    first, are the ones closed when a new connection would exceed the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: set[GuardedProtocol] = set()
        self.idle: OrderedDict[GuardedProtocol, None] = OrderedDict()

    def opened(self, conn: GuardedProtocol) -> None:
        self.open.add(conn)
        self.idle[conn] = None
        while len(self.open) > self.limit and self.idle:
            oldest, _ = self.idle.popitem(last=False)
            self.open.discard(oldest)
            oldest.transport.close()

    def busy(self, conn: GuardedProtocol) -> None:
        self.idle.pop(conn, None)

    def waiting(self, conn: GuardedProtocol) -> None:
        if conn in self.open:
            self.idle[conn] = None
            self.idle.move_to_end(conn)

    def closed(self, conn: GuardedProtocol) -> None:
        self.open.discard(conn)
        self.idle.pop(conn, None)


class GuardedProtocol(HttpToolsProtocol):
    """Bound to a listener's Connections by `protocol_for`."""

    registry: ClassVar[Connections]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = self.app
        self.app = self._limited  # uvicorn starts each request with self.app
        self._timer: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None
        self._head_left: int | None = MAX_HEAD  # None: the head is in, reading its body
        self._heads = 0
        self._fields = 0
        self._too_large = False

    # --- connection ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.registry.opened(self)
        self._expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.closed(self)
        self._cancel_timer()
        self._cancel_stall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(WRITE_STALL, self.transport.abort)

    def resume_writing(self) -> None:
        self._cancel_stall()
        super().resume_writing()

    def _cancel_stall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expect_head(self) -> None:
        self._cancel_timer()
        self._head_left = MAX_HEAD
        self._timer = self.loop.call_later(HEAD_TIMEOUT, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        # Only a connection with nothing in progress: a slow answer is not the client's fault.
        if self.cycle is None or self.cycle.response_complete or self._head_left is None:
            self.transport.close()

    # --- reading ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        left = self._head_left
        if left is None or len(data) <= left:
            if left is not None:
                self._head_left = left - len(data)
            super().data_received(data)
        else:
            heads = self._heads
            super().data_received(data[:left])
            if self.transport.is_closing():
                return
            if self._heads == heads:  # MAX_HEAD bytes and still no end of the head
                self._refuse()
                return
            super().data_received(data[left:])
        if self._head_left is None and self._timer is None and not self.transport.is_closing():
            self._timer = self.loop.call_later(BODY_TIMEOUT, self._timed_out)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._fields = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > MAX_FIELDS:
            self._too_large = True
            raise _HeadTooLarge  # httptools stops parsing; uvicorn calls send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._head_left = None
        self._cancel_timer()
        self.registry.busy(self)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._cancel_timer()  # the body's deadline
        self._head_left = MAX_HEAD  # whatever follows is the next head
        if self.cycle.response_complete:  # answered before its body was all in (a 413)
            self._idle()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # While the request's body is still arriving its bytes are no head: wait for its end.
        if self._head_left is not None:
            self._idle()

    def _idle(self) -> None:
        if not self.transport.is_closing() and not self.pipeline:
            self.registry.waiting(self)
            self._expect_head()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        self.transport.write(_431)
        self.transport.close()

    # --- requests in progress -------------------------------------------------------------
    async def _limited(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if len(self.tasks) > MAX_REQUESTS:
            await service_unavailable(scope, receive, send)
            return
        await self._app(scope, receive, send)


def protocol_for(connections: Connections) -> type[GuardedProtocol]:
    """The protocol class for one listener (uvicorn builds it with its own arguments)."""
    return type("ListenerProtocol", (GuardedProtocol,), {"registry": connections})
