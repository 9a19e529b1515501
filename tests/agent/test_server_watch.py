"""The agent's server watch in one process, with a real health endpoint (aiohttp) that can answer
200, answer 502 (a proxy whose augenmass is away) or stop, and a real SMTP server (aiosmtpd)
that can refuse: what the admins get when the server flaps or the relay is away too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from augenmass.agent.alerts import load_alerts
from augenmass.agent.link import Link
from augenmass.agent.watch import ServerWatch, span
from augenmass.core.clock import SystemClock
from notify.helpers import MailServer, free_port

SILENCE = 1.0


class Health:
    """GET /api/health answering `status`; stop() and start() for an outage."""

    def __init__(self) -> None:
        self.status = 200
        self.port = free_port()
        app = web.Application()
        app.router.add_get("/api/health", self._health)
        self.runner = web.AppRunner(app)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, status=self.status)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()


async def wait_until(pred: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def hold(mail: MailServer, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert len(mail.received()) == count, [m.subject for m in mail.received()]
        await asyncio.sleep(0.05)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Health, MailServer, ServerWatch]]:
    health = Health()
    await health.start()
    mail = MailServer(free_port())
    mail.accept()
    config = tmp_path / "alerts.yaml"
    config.write_text(
        f"smtp: {{host: 127.0.0.1, port: {mail.port}, from: agent@example.org, timeout: 2s}}\n"
        f"email: [admin@example.org]\nserver_silence: {SILENCE}s\n"
    )
    link = Link(f"http://127.0.0.1:{health.port}", "am_test")
    watch = ServerWatch(link, load_alerts(config), tmp_path, SystemClock(), "office")
    task = asyncio.create_task(watch.run())
    try:
        yield health, mail, watch
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await link.close()
        await health.runner.cleanup()
        mail.refuse()


async def test_a_flap_shorter_than_the_silence_tells_nobody(
    parts: tuple[Health, MailServer, ServerWatch],
) -> None:
    health, mail, watch = parts
    health.status = 502
    await wait_until(lambda: watch.state.silent_since is not None, "the silence noticed")
    health.status = 200
    await wait_until(lambda: watch.state.silent_since is None, "the answer noticed")
    await hold(mail, 0, 3 * SILENCE)


async def test_an_alert_the_relay_refused_arrives_once_when_it_is_back(
    parts: tuple[Health, MailServer, ServerWatch], caplog: pytest.LogCaptureFixture
) -> None:
    health, mail, watch = parts
    mail.refuse()
    health.status = 502
    await wait_until(
        lambda: any(r.message == "alert not delivered" for r in caplog.records), "a failed try"
    )
    mail.accept()
    down = (await wait_until(mail.received, "the alert"))[0]
    assert "not answering since" in down.subject
    assert "Last error: HTTP 502" in down.text
    await hold(mail, 1, 3 * SILENCE)
    health.status = 200
    await wait_until(lambda: len(mail.received()) == 2, "the server back")
    assert "answering again after" in mail.received()[1].subject
    assert not watch.state.down_sent and watch.state.silent_since is None


def test_span_reads_as_people_say_it() -> None:
    assert [span(s) for s in (42, 720, 3600, 7500, 86400 * 3 + 3600 * 4)] == [
        "42 s",
        "12 min",
        "1 h",
        "2 h 5 min",
        "3 d 4 h",
    ]
