"""Fixtures: a real SMTP server (aiosmtpd) the tests can switch to refuse, answer 421/550 or
stall; a real SQLite store; a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from augenmass.store import Store, open_store
from notify.helpers import MailServer, ManualClock, free_port


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.accept()
    try:
        yield server
    finally:
        server.mode = "ok"
        server.refuse()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    st = await open_store(f"sqlite:///{tmp_path / 'augenmass.db'}")
    try:
        yield st
    finally:
        await st.close()
