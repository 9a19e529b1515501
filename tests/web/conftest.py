"""Fixtures: a real Server (engine, store, scheduler) behind the real FastAPI app, driven
in-process through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

from .helpers import ShiftedClock, add_user, login, write_config


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = Server(write_config(tmp_path / "config"), tmp_path / "data", clock=ShiftedClock())
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def anon(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_site(Control(server)))
    # https: the session cookie is Secure, and httpx sends it only over https
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


@pytest.fixture
async def operator(server: Server, anon: httpx.AsyncClient) -> tuple[httpx.AsyncClient, str]:
    await add_user(server, "olga", "operator")
    token = await login(anon, "olga")
    return anon, token
