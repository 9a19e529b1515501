"""Login CSRF and flash messages against the real `augenmass run` (issue 15).

Another site's page must not be able to log a visitor's browser into an account (the form is
refused: no session cookie); the login form still works. Messages after an action come from the
server, once; `?error=` in a link shows nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from augenmass.api import accounts
from augenmass.core.clock import SystemClock
from augenmass.server.control import StoreAccounts
from augenmass.store import open_store
from e2e.helpers import ServerProcess

from .helpers import hidden
from .test_browser import ARGS, CHROMIUM, _playwright

pytestmark = pytest.mark.slow

PASSWORD = "brass-lantern-orbit-42"
CONFIG = """
settings: {max_check_spread: 1s}
defaults: {check_interval: 1h, max_check_attempts: 1}
hosts:
  www1: {address: 127.0.0.1, check: none}
services:
  - {name: website, host: www1, check: {type: dummy, state: 0, output: "HTTP OK"}}
"""


def _add_user(data: Path) -> None:
    async def run() -> None:
        store = await open_store(f"sqlite:///{data / 'augenmass.db'}")
        try:
            await accounts.add_user(
                StoreAccounts(store, SystemClock()), "olga", PASSWORD, "operator"
            )
        finally:
            await store.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("logincsrf")
    (tmp / "config").mkdir()
    (tmp / "config" / "augenmass.yaml").write_text(CONFIG)
    (tmp / "data").mkdir()
    _add_user(tmp / "data")
    proc = ServerProcess(tmp / "config", tmp / "data")
    try:
        yield proc.start()
    finally:
        proc.stop()


@pytest.fixture
def attacker(running: ServerProcess) -> Iterator[str]:
    """Another site (127.0.0.2, another port) whose page posts a login form to the server."""
    page = f"""<!doctype html><html><body>
<form id="f" method="post" action="http://127.0.0.1:{running.port}/login">
<input name="name" value="olga"><input name="password" value="{PASSWORD}">
<input name="next" value="/"></form>
<script>document.getElementById("f").submit()</script></body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_another_site_cannot_log_a_browser_in(running: ServerProcess, attacker: str) -> None:
    sync_playwright = _playwright()
    base = f"http://127.0.0.1:{running.port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = browser.new_context()
            page = ctx.new_page()
            # the victim once opened the real login page: its token cookie exists (Strict, so
            # the browser still must not send it with another site's form)
            page.goto(base + "/login")
            with page.expect_response(lambda r: r.url.startswith(base + "/login")) as posted:
                page.goto(attacker)
            assert posted.value.request.method == "POST"
            assert posted.value.status == 403
            assert not [c for c in ctx.cookies() if c["name"] == "augenmass_session"]
            page.goto(base + "/")
            assert "/login" in page.url  # not logged in

            # the real form still logs in
            page.fill("input[name=name]", "olga")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_request(lambda r: r.method == "POST") as sent:
                page.click("button[type=submit]")
            # a real Origin (not "null"): the Origin check has something to compare
            assert sent.value.headers.get("origin") == base
            page.wait_for_url(base + "/", timeout=10_000)
            assert [c for c in ctx.cookies() if c["name"] == "augenmass_session"]
            assert "Log out" in page.inner_text("body")
        finally:
            browser.close()


class Browserish:
    """httpx over plain http to 127.0.0.1, keeping cookies by hand: httpx's cookie jar (unlike a
    browser) never sends Secure cookies over http, not even to a loopback address."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=10)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {**kw.pop("headers", {}), **({"Cookie": cookie} if cookie else {})}
        resp = self.http.request(method, path, headers=headers, **kw)
        self.cookies.update(resp.cookies.items())
        return resp

    def form(self) -> dict[str, str]:
        token = hidden(self.request("GET", "/login").text, "login_token")
        return {"name": "olga", "password": PASSWORD, "next": "/", "login_token": token}


@pytest.fixture
def visitor(running: ServerProcess) -> Iterator[Browserish]:
    b = Browserish(f"http://127.0.0.1:{running.port}")
    try:
        yield b
    finally:
        b.http.close()


def test_login_form_needs_its_token_and_a_same_site_origin(visitor: Browserish) -> None:
    v = visitor
    no_token = v.request("POST", "/login", data={"name": "olga", "password": PASSWORD})
    assert no_token.status_code == 403 and "augenmass_session" not in v.cookies
    wrong = v.request("POST", "/login", data={**v.form(), "login_token": "x" * 43})
    assert wrong.status_code == 403 and "augenmass_session" not in v.cookies
    foreign = v.request(
        "POST", "/login", data=v.form(), headers={"Origin": "http://127.0.0.2:8080"}
    )
    assert foreign.status_code == 403 and "augenmass_session" not in v.cookies
    fetched = v.request(
        "POST", "/login", data=v.form(), headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    )
    assert fetched.status_code == 403 and "augenmass_session" not in v.cookies
    api = v.request(
        "POST",
        "/api/login",
        json={"name": "olga", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert api.status_code == 403 and "augenmass_session" not in v.cookies
    ok = v.request("POST", "/login", data=v.form(), headers={"Origin": v.base})
    assert ok.status_code == 303 and "augenmass_session" in v.cookies


def test_messages_come_from_the_server_once_not_from_the_link(visitor: Browserish) -> None:
    v = visitor
    assert v.request("POST", "/login", data=v.form()).status_code == 303
    planted = v.request(
        "GET", "/host/www1", params={"error": "Call +1-555-0100 now", "msg": "done"}
    )
    assert planted.status_code == 200
    assert "555-0100" not in planted.text and 'role="alert"' not in planted.text
    assert "Done." not in planted.text
    csrf = hidden(planted.text, "csrf_token")
    form = {"host": "www1", "service": "", "comment": "x", "hours": "-1", "csrf_token": csrf}
    failed = v.request("POST", "/ui/action/downtime", data=form)
    assert failed.status_code == 303 and failed.headers["location"] == "/host/www1"
    shown = v.request("GET", "/host/www1").text
    assert "hours must be between 0 and one year in hours" in shown  # the real error
    assert "hours must be between" not in v.request("GET", "/host/www1").text  # once
