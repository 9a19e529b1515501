"""Fixtures for the runner tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from runner_helpers import make_runner

from augenmass.runner import Runner


@pytest.fixture
def runner() -> Runner:
    return make_runner()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A listener on 127.0.0.1 that accepts and never says a word: a check waits for its
    timeout."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for w in held:
        w.close()
    server.close()
    await server.wait_closed()
