"""A check cancelled (by its deadline) while its UDP socket is being opened leaves no socket
behind, on asyncio and on uvloop (whose create_datagram_endpoint keeps the transport open when
cancelled in that moment; a test loop with such a socket then never finishes closing)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from augenmass.probes.safeopen import datagram_endpoint, dns_backend


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _cancel_while_opening(
    open_one: Callable[[], Awaitable[Any]], close: Callable[[Any], Awaitable[None] | None]
) -> int:
    """Open 300 times, cancelling after 0, 1, 2 or 3 loop passes; fds left open afterwards."""
    before = _fds()
    for i in range(300):
        task = asyncio.ensure_future(open_one())
        for _ in range(i % 4):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if not task.cancelled():  # finished before the cancel: ours to close
            done = close(task.result())
            if done is not None:
                await done
    for _ in range(5):
        await asyncio.sleep(0.01)
    return _fds() - before


@pytest.fixture
def silent_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


async def test_a_cancelled_datagram_endpoint_is_closed(silent_port: int) -> None:
    def open_one() -> Awaitable[Any]:
        return datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", silent_port))

    assert await _cancel_while_opening(open_one, lambda made: made[0].close()) == 0


async def test_a_cancelled_dns_socket_is_closed(silent_port: int) -> None:
    backend = dns_backend()

    def open_one() -> Awaitable[Any]:
        return backend.make_socket(
            socket.AF_INET, socket.SOCK_DGRAM, 0, None, ("127.0.0.1", silent_port)
        )

    assert await _cancel_while_opening(open_one, lambda sock: sock.close()) == 0
