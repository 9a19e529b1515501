"""A host's or service's page says how it is checked (probe and options, or the plugin's command
line), never a secret; intervals and the next check; parents and what is behind it; and until
when an acknowledgement holds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from augenmass.core.values import Acknowledgement, CheckKey
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

from .helpers import ShiftedClock, add_user, login, result, write_config

CONFIG = """
settings: {max_check_spread: 1h}
defaults: {check_interval: 1h, retry_interval: 5m, max_check_attempts: 4}
hosts:
  router: {address: 127.0.0.1, check: {type: tcp, port: 22, timeout: 7s}}
  printer: {address: 127.0.0.1, parents: [router], check: none}
services:
  - name: intranet
    host: router
    check: {type: http, url: "http://admin:url-pass-6789@127.0.0.1/", password: opt-pass-4321}
  - name: proxy
    host: router
    check: {type: plugin, command: [check_http, -H, $HOSTADDRESS$, -a, "admin:flag-pass-1234"]}
  - name: db
    host: router
    check: {type: plugin, command: [check_mysql, -H, $HOSTADDRESS$, -p, mysql-pass-5678]}
  - name: pg
    host: router
    check: {type: plugin, command: [check_tcp, -H, $HOSTADDRESS$, -p, "5432"]}
"""
SECRETS = ("url-pass-6789", "opt-pass-4321", "flag-pass-1234", "mysql-pass-5678")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[Server, httpx.AsyncClient]]:
    srv = Server(write_config(tmp_path / "config", CONFIG), tmp_path / "data", clock=ShiftedClock())
    await srv.start()
    try:
        await add_user(srv, "vera", "viewer")
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "vera")
            yield srv, c
    finally:
        await srv.stop()


async def test_the_host_page_says_how_it_is_checked_and_what_hangs_on_it(
    client: tuple[Server, httpx.AsyncClient],
) -> None:
    _, c = client
    html = (await c.get("/host/router?lang=en")).text
    assert "How it is checked" in html
    assert "<code>tcp</code>" in html and ">port</dt><dd><code>22</code>" in html
    assert "<dt>Timeout</dt><dd>7s</dd>" in html
    assert "1h; retry 5m, max. attempts 4" in html
    assert "<dt>Next check</dt><dd>20" in html  # a date: it is scheduled
    assert 'Behind it</dt><dd><a href="/host/printer">printer</a>' in html
    printer = (await c.get("/host/printer?lang=de")).text
    assert "keine: als UP angenommen" in printer
    assert 'Übergeordnet</dt><dd><a href="/host/router">router</a>' in printer


async def test_no_secret_reaches_the_page(client: tuple[Server, httpx.AsyncClient]) -> None:
    _, c = client
    pages = {s: (await c.get(f"/service/router/{s}")).text for s in ("intranet", "proxy", "db")}
    for name, html in pages.items():
        for secret in SECRETS:
            assert secret not in html, (name, secret)
    assert ">password</dt><dd><code>****</code>" in pages["intranet"]
    assert "check_http -H $HOSTADDRESS$ -a ****" in pages["proxy"]
    assert "check_mysql -H $HOSTADDRESS$ -p ****" in pages["db"]
    pg = (await c.get("/service/router/pg")).text
    assert "check_tcp -H $HOSTADDRESS$ -p 5432" in pg  # a port stays a port


async def test_an_acknowledgements_expiry_is_shown(
    client: tuple[Server, httpx.AsyncClient],
) -> None:
    srv, c = client
    key = CheckKey("router", "pg")
    await result(srv, "router/pg", 2, "refused")
    await result(srv, "router/pg", 2, "refused")
    await result(srv, "router/pg", 2, "refused")
    await result(srv, "router/pg", 2, "refused")
    until = time.time() + 4 * 3600
    ack = Acknowledgement(author="olga", comment="vendor called", at=time.time(), expires_at=until)
    await Control(srv).acknowledge(key, ack)
    html = (await c.get("/service/router/pg?lang=en")).text
    assert "vendor called" in html and "(until 20" in html
    german = (await c.get("/service/router/pg?lang=de")).text
    assert "(bis " in german
