"""Helpers for the web tests. Results enter through `Server.ingest`, the path every result
takes, so each test sets exactly the states it needs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from augenmass.api import accounts
from augenmass.core.clock import SystemClock
from augenmass.core.values import CheckKey, CheckResult, PerfDatum
from augenmass.server.control import StoreAccounts
from augenmass.server.server import Server

HOSTILE = (
    '<script>alert(1)</script> <a href="javascript:alert(2)">x</a> <img src=x onerror=alert(3)>'
)
PASSWORD = "correct horse battery"

CONFIG = """
settings:
  default_host_check: none  # hosts assumed UP; a test sets each state it needs
  status_page:
    title: "Party IT <status>"
    groups: [Websites, Mail]
defaults: {check_interval: 1h, retry_interval: 1h, max_check_attempts: 1, active_checks: false}
hosts:
  www1: {address: 192.0.2.10, tags: [web], groups: [webservers]}
  mail: {address: 192.0.2.20, tags: [mail]}
services:
  - name: website
    host: www1
    check: {type: dummy}
    public: {name: "Homepage", group: Websites}
  - name: evil
    host: www1
    check: {type: dummy}
  - name: smtp
    host: mail
    check: {type: dummy}
    public: {name: "Mail delivery", group: Mail, show_output: true}
  - name: imap
    host: mail
    check: {type: dummy}
    public: {name: "Mailbox", group: Mail}
  - name: disk
    host: mail
    check: {type: dummy}
"""


def write_config(path: Path, text: str = CONFIG) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "augenmass.yaml").write_text(text)
    return path


async def add_user(server: Server, name: str, role: str) -> None:
    await accounts.add_user(StoreAccounts(server.store, server.clock), name, PASSWORD, role)


class ShiftedClock(SystemClock):
    """The system clock, except that a test may set the wall time a result arrives at (events
    are stamped with the engine's `now`); sleeping stays real."""

    def __init__(self) -> None:
        self.at: float | None = None

    def now(self) -> float:
        return time.time() if self.at is None else self.at


async def result(
    server: Server,
    key: str,
    status: int,
    output: str,
    perf: tuple[PerfDatum, ...] = (),
    at: float | None = None,
) -> None:
    when = time.time() if at is None else at
    res = CheckResult(CheckKey.parse(key), status, output, perfdata=perf, started_at=when)
    clock = server.clock
    assert isinstance(clock, ShiftedClock)
    clock.at = at
    try:
        await server.ingest(res)
    finally:
        clock.at = None
    await asyncio.wait_for(server.writer.flush(), 10)


def hidden(html: str, field: str) -> str:
    """The value of a hidden form field in a page."""
    marker = f'name="{field}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def post_login(
    client: httpx.AsyncClient, name: str, password: str, nxt: str = "/"
) -> httpx.Response:
    """The login form as a browser sends it: first GET /login for its token and cookie."""
    form = await client.get("/login")
    token = hidden(form.text, "login_token")
    data = {"name": name, "password": password, "next": nxt, "login_token": token}
    return await client.post("/login", data=data)


async def login(client: httpx.AsyncClient, name: str) -> str:
    """Log in through the form; returns the CSRF token shown on the dashboard."""
    resp = await post_login(client, name, PASSWORD)
    assert resp.status_code == 303, resp.text
    page = await client.get("/")
    assert page.status_code == 200
    return hidden(page.text, "csrf_token")
