"""The UI in Debian's chromium (Playwright, no browser download) against a real `augenmass run`.

Log in, see a problem, acknowledge it, see it move to handled, open a graph, open the status
page logged out; hostile check output must stay text (no dialog may fire). Screenshots go to
test-artifacts/web/ for a human to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from augenmass.api import accounts
from augenmass.core.clock import SystemClock
from augenmass.server.control import StoreAccounts
from augenmass.store import open_store
from e2e.helpers import ServerProcess, wait_for

from .helpers import HOSTILE, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


def _playwright() -> Any:
    """The sync Playwright API, or a skip (a failure under CI=true) when it cannot run here."""
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed (pip install playwright)"
    if why is None and not CHROMIUM.exists():
        why = "Debian's chromium is missing (apt-get install -y chromium)"
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return sync_playwright


CONFIG = f"""
settings:
  max_check_spread: 1s
  status_page: {{title: "Party IT status", groups: [Websites, Mail]}}
defaults: {{check_interval: 5s, retry_interval: 5s, max_check_attempts: 1}}
hosts:
  www1: {{address: 127.0.0.1}}
  mail: {{address: 127.0.0.1}}
services:
  - name: website
    host: www1
    check: {{type: dummy, state: 0, output: "HTTP OK", perfdata: "time=0.25s;1;2;0"}}
    public: {{name: Homepage, group: Websites}}
  - name: smtp
    host: mail
    check:
      type: dummy
      state: 2
      output: {json.dumps(HOSTILE)}
      long_output: "javascript:alert(4)"
    public: {{name: "Mail delivery", group: Mail}}
"""


def _add_user(data: Path) -> None:
    async def run() -> None:
        store = await open_store(f"sqlite:///{data / 'augenmass.db'}")
        try:
            users = StoreAccounts(store, SystemClock())
            await accounts.add_user(users, "olga", PASSWORD, "operator")
        finally:
            await store.close()

    asyncio.run(run())


@contextlib.contextmanager
def ui_server(
    tmp_path: Path, config: str, ready: Callable[[ServerProcess], Any], what: str
) -> Iterator[ServerProcess]:
    """A real `augenmass run` on `config` with the operator olga, once `ready(server)` holds."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "augenmass.yaml").write_text(config)
    data = tmp_path / "data"
    data.mkdir()
    _add_user(data)
    proc = ServerProcess(cfg, data)
    try:
        proc.start()
        wait_for(lambda: ready(proc), 30, what)
        yield proc
    finally:
        proc.stop()


def log_in(page: Any, base: str, lang: str | None = None) -> None:
    """The login form as olga fills it in; returns on the dashboard."""
    page.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=name]", "olga")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    with ui_server(
        tmp_path, CONFIG, lambda p: p.status(False).get("mail/smtp"), "the CRITICAL smtp check"
    ) as proc:
        yield proc


def test_operator_flow_in_chromium(running: ServerProcess) -> None:
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{running.port}"
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
            page = ctx.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(base + "/")
            assert "/login" in page.url
            page.fill("input[name=name]", "olga")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            row = page.locator('tr[data-key="mail/smtp"]')
            row.wait_for(timeout=10_000)
            assert "CRITICAL" in row.inner_text()
            assert "<script>alert(1)</script>" in row.locator("td.output").inner_text()
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # the dashboard stays open: htmx must refresh it in place after the acknowledgement
            page.evaluate("window.__stillHere = true")
            dash = page
            page = ctx.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base + "/")
            page.click('tr[data-key="mail/smtp"] a[href="/service/mail/smtp"]')
            page.wait_for_url("**/service/mail/smtp")
            assert "javascript:alert(4)" in page.inner_text("pre.long")
            page.fill("#ack-form input[name=comment]", "looking into it")
            page.click("#ack-form button[type=submit]")
            page.locator("p.notice[role=status]").wait_for(timeout=10_000)  # the flash
            assert page.url.endswith("/service/mail/smtp")  # no message in the address
            assert "acknowledged" in page.inner_text("section.head")
            page.screenshot(path=str(ARTIFACTS / "service-acknowledged.png"), full_page=True)

            handled = dash.locator('tr.handled[data-key="mail/smtp"]')
            handled.wait_for(timeout=20_000)  # the refresh runs every 10 s
            assert dash.evaluate("window.__stillHere") is True  # no full reload

            page.goto(base + "/service/www1/website")
            graph = page.locator("figure.graph[data-points]")
            graph.wait_for(timeout=15_000)
            assert page.locator("figure.graph canvas").count() >= 1
            assert int(graph.get_attribute("data-points") or "0") >= 1
            page.screenshot(path=str(ARTIFACTS / "graph.png"), full_page=True)

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.add_cookies(ctx.cookies())
            mobile = phone.new_page()
            mobile.goto(base + "/")
            mobile.locator('tr[data-key="mail/smtp"]').wait_for(timeout=10_000)
            mobile.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
            # no horizontal scrolling on a phone
            width = mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, width

            anon = browser.new_context(viewport={"width": 1000, "height": 800})
            public = anon.new_page()
            public.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            public.goto(base + "/status")
            text = public.inner_text("body")
            assert "Homepage" in text and "Mail delivery" in text
            assert "www1" not in text and "127.0.0.1" not in text and "alert" not in text
            public.screenshot(path=str(ARTIFACTS / "status.png"), full_page=True)
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
    assert dialogs == []
