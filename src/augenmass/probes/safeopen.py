"""Opening a transport so that a cancelled check cannot leak it.

uvloop (0.23) creates a datagram endpoint's socket and then waits one loop pass for
`connection_made`; a cancellation in that pass (the check's deadline) leaves the transport open
for good, where asyncio would close it. In a server that runs for months every such socket stays
(and a test's loop then never finishes closing). So the creation runs shielded, and a transport
that arrives after its check was cancelled is closed on arrival.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def opened(creation: Awaitable[T], close: Callable[[T], object]) -> T:
    """The awaited `creation`; if the caller is cancelled meanwhile, `close(result)` runs once
    the creation has finished (an exception it raised is consumed, not logged as unretrieved)."""
    task = asyncio.ensure_future(creation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(lambda done: _close_result(done, close))
        raise


def _close_result(done: asyncio.Future[T], close: Callable[[T], object]) -> None:
    if done.cancelled() or done.exception() is not None:
        return
    close(done.result())


async def datagram_endpoint(
    factory: Callable[[], asyncio.DatagramProtocol], **kwargs: Any
) -> tuple[asyncio.DatagramTransport, Any]:
    """loop.create_datagram_endpoint, leak-free under cancellation."""
    loop = asyncio.get_running_loop()
    return await opened(
        loop.create_datagram_endpoint(factory, **kwargs), lambda made: made[0].close()
    )


def dns_backend() -> Any:
    """dnspython's asyncio backend with its UDP sockets opened as above (it calls
    create_datagram_endpoint itself)."""
    global _DNS_BACKEND
    if _DNS_BACKEND is None:
        import dns.asyncbackend

        base: Any = type(dns.asyncbackend.get_backend("asyncio"))

        class Backend(base):  # type: ignore[misc]
            async def make_socket(self, af: int, socktype: int, *args: Any, **kwargs: Any) -> Any:
                make = super().make_socket(af, socktype, *args, **kwargs)
                if socktype != socket.SOCK_DGRAM:
                    return await make
                return await opened(make, lambda sock: asyncio.ensure_future(sock.close()))

        _DNS_BACKEND = Backend()
    return _DNS_BACKEND


_DNS_BACKEND: Any = None
