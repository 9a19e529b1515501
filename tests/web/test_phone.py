"""The dashboard on a phone (390×844, Debian's chromium): the problems are on the first screen,
above the filters, one compact card each, in English and German. Screenshots go to
test-artifacts/web/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.helpers import ServerProcess

from .test_browser import ARGS, ARTIFACTS, CHROMIUM, _playwright, log_in, ui_server

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s, default_host_check: none}
defaults: {check_interval: 1h, max_check_attempts: 1}
hosts:
  www1: {address: 127.0.0.1, tags: [web]}
  mail: {address: 127.0.0.1, tags: [mail]}
services:
  - name: website
    host: www1
    check: {type: dummy, state: critical, output: "HTTP CRITICAL - refused on port 443 after 10 s"}
  - {name: smtp, host: mail, check: {type: dummy, state: warning, output: "SMTP WARNING - 3.2 s"}}
  - {name: queue, host: mail, check: {type: dummy, state: unknown, output: "postqueue failed"}}
  - {name: imap, host: mail, check: {type: dummy, state: ok}}
"""
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    with ui_server(
        tmp_path, CONFIG, lambda p: len(p.status(False)) == 3, "the three problems"
    ) as proc:
        yield proc


@pytest.mark.parametrize("lang", ["en", "de"])
def test_problems_fill_a_phones_first_screen(running: ServerProcess, lang: str) -> None:
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{running.port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            page = ctx.new_page()
            log_in(page, base, lang)
            rows = page.locator("table.problems tbody tr")
            rows.first.wait_for(timeout=15_000)
            header = page.locator("header.top").bounding_box()
            first = rows.first.bounding_box()
            last = rows.nth(2).bounding_box()
            filters = page.locator("form.filters").bounding_box()
            assert header and first and last and filters
            assert header["height"] < 0.12 * PHONE["height"], header
            # all three problems on the first screen, the first in its upper quarter
            assert first["y"] < 0.25 * PHONE["height"], first
            assert last["y"] + last["height"] < PHONE["height"], last
            assert first["height"] < 80, first  # one compact card, not five labelled lines
            assert filters["y"] > last["y"], (filters, last)  # the filters after the list
            text = rows.first.inner_text()
            assert "www1" in text and "website" in text and "CRITICAL" in text
            page.screenshot(path=str(ARTIFACTS / f"phone-dashboard-{lang}.png"))
        finally:
            browser.close()
