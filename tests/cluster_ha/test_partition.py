"""An active server cut off from PostgreSQL (a real TCP relay in between that stops passing
bytes) steps down on its own, before its lease can expire for the others; a standby with a
working link takes over only after that moment."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from augenmass.core.plan import LeaseSettings
from augenmass.server.role import ACTIVE, STANDBY, Role
from augenmass.store import open_store
from augenmass.store.lease import Lease

pytestmark = pytest.mark.postgres

TTL, RENEW = 1.5, 0.5


class Relay:
    """127.0.0.1:port → PostgreSQL at 127.0.0.1:5432; `cut()` stops passing bytes both ways
    (the connections stay open: a partition, not a refusal)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self.open.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", 5432)
        for src, dst in ((reader, up_w), (up_r, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await src.read(65536):
                await self.open.wait()
                dst.write(data)
                await dst.drain()
        dst.close()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    r = Relay()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


async def test_cut_off_from_postgresql_it_steps_down_before_the_lease_expires(
    pg_url: str, relay: Relay
) -> None:
    direct = await open_store(pg_url)
    cut_off = await open_store(pg_url.replace(":5432/", f":{relay.port}/"))
    loop = asyncio.get_running_loop()
    stepped_down: list[float] = []
    activated = asyncio.Event()

    async def activate(token: int) -> None:
        activated.set()

    async def nothing() -> None:
        return None

    role = Role(
        "node-a",
        Lease(cut_off.engine, "node-a", TTL),
        LeaseSettings(ttl=TTL, renew=RENEW),
        activate,
        lambda: stepped_down.append(loop.time()),
        nothing,
    )
    runner = asyncio.create_task(role.run())
    try:
        await asyncio.wait_for(activated.wait(), 10)
        assert role.state == ACTIVE and role.may_act()
        await asyncio.sleep(RENEW * 2)  # a renewal or two through the relay
        relay.cut()
        cut_at = loop.time()
        standby = Lease(direct.engine, "node-b", TTL)
        taken_at = None
        deadline = time.monotonic() + 10
        while taken_at is None and time.monotonic() < deadline:
            if await standby.acquire() is not None:
                taken_at = loop.time()
            await asyncio.sleep(0.02)
        assert taken_at is not None, "the standby never took over"
        assert stepped_down, "the cut-off server did not step down"
        # it stopped acting on its own, before anyone else could act ...
        assert stepped_down[0] < taken_at, (stepped_down[0] - cut_at, taken_at - cut_at)
        assert role.state == STANDBY and not role.may_act()
        # ... and within ttl of the cut (its last renewal was before it)
        assert stepped_down[0] - cut_at < TTL
        async with direct.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT holder FROM cluster_lease")) == "node-b"
    finally:
        relay.open.set()  # the partition ends: calls left hanging on it finish or fail now
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(runner, 10)
        await direct.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(cut_off.engine.dispose(close=False), 2)
