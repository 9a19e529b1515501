"""Times on the pages are in settings.timezone, named, 24-hour, the day first in German."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

from .helpers import CONFIG, ShiftedClock, add_user, login, result, write_config

SUMMER = datetime(2026, 7, 1, 13, 5, 9, tzinfo=UTC).timestamp()  # 15:05:09 CEST in Berlin
WINTER = datetime(2026, 1, 15, 22, 30, 0, tzinfo=UTC).timestamp()  # 23:30:00 CET


@pytest.fixture
async def berlin(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    text = CONFIG.replace("settings:\n", "settings:\n  timezone: Europe/Berlin\n", 1)
    srv = Server(write_config(tmp_path / "config", text), tmp_path / "data", clock=ShiftedClock())
    await srv.start()
    try:
        await add_user(srv, "vera", "viewer")
        await result(srv, "mail/smtp", 2, "refused", at=SUMMER)
        await result(srv, "www1/website", 2, "down", at=WINTER)
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "vera")
            yield c
    finally:
        await srv.stop()


async def test_object_pages_show_local_time_with_its_zone(berlin: httpx.AsyncClient) -> None:
    english = (await berlin.get("/service/mail/smtp?lang=en")).text
    assert "2026-07-01 15:05:09 CEST" in english
    assert "13:05:09" not in english and " UTC" not in english
    german = (await berlin.get("/service/mail/smtp?lang=de")).text
    assert "01.07.2026 15:05:09 CEST" in german
    winter = (await berlin.get("/service/www1/website?lang=de")).text
    assert "15.01.2026 23:30:00 CET" in winter  # the zone's own offset on that day
    # the dashboard's "since" tooltips too
    dashboard = (await berlin.get("/?lang=en")).text
    assert 'title="2026-07-01 15:05:09 CEST"' in dashboard


async def test_without_a_zone_times_stay_utc_and_say_so(tmp_path: Path) -> None:
    srv = Server(write_config(tmp_path / "config"), tmp_path / "data", clock=ShiftedClock())
    await srv.start()
    try:
        await add_user(srv, "vera", "viewer")
        await result(srv, "mail/smtp", 2, "refused", at=SUMMER)
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "vera")
            page = (await c.get("/service/mail/smtp?lang=en")).text
            assert "2026-07-01 13:05:09 UTC" in page
    finally:
        await srv.stop()
