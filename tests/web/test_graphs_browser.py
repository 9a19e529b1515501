"""Graphs that read well on real data, in Debian's chromium against a real `augenmass run`:
values in the unit a reader expects (3 ms, 74.5 GiB), thresholds far from the data named
instead of squashing it, the newest value in the legend without hovering, a 24-hour time axis
in the configured zone. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.helpers import ServerProcess

from .test_browser import ARGS, ARTIFACTS, CHROMIUM, _playwright, log_in, ui_server

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s, timezone: Europe/Berlin, default_host_check: none}
defaults: {check_interval: 2s, retry_interval: 2s, max_check_attempts: 1}
hosts:
  www1: {address: 127.0.0.1}
services:
  - name: website
    host: www1
    check: {type: dummy, state: 0, output: "HTTP OK", perfdata: "time=0.003s;5;10;0"}
  - name: backup
    host: www1
    check: {type: dummy, state: 0, output: "backup OK", perfdata: "size=80000000000B"}
"""


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    def stored(proc: ServerProcess) -> bool:
        return bool(
            proc.series("www1", "website", "time") and proc.series("www1", "backup", "size")
        )

    with ui_server(tmp_path, CONFIG, stored, "a stored point of each service") as proc:
        yield proc


def _graph(page: Any, base: str, path: str) -> Any:
    """The page's graph once it has drawn at least one point (reloads until then, bounded)."""
    for _ in range(20):
        page.goto(base + path)
        fig = page.locator("figure.graph[data-points]").first
        fig.wait_for(timeout=15_000)
        if int(fig.get_attribute("data-points") or "0") >= 1:
            return fig
        page.wait_for_timeout(500)
    raise AssertionError(f"no point drawn on {path}")


def _legend_value(fig: Any) -> str:
    return str(fig.locator(".u-legend .u-series").nth(1).locator(".u-value").inner_text())


def test_graphs_read_well_in_english_and_german(running: ServerProcess) -> None:
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{running.port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page = ctx.new_page()
            errors: list[str] = []
            # script errors, and failed requests other than the browser's own favicon probe
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "response",
                lambda r: (
                    errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            log_in(page, base)

            fig = _graph(page, base, "/service/www1/website?lang=en")
            yticks = (fig.get_attribute("data-yticks") or "").split("|")
            # 3 ms response times: ticks in ms that tell each other apart, never "0 0 0"
            assert all(t.endswith(" ms") for t in yticks), yticks
            assert len(set(yticks)) == len(yticks) >= 2, yticks
            # the 5 s / 10 s thresholds would flatten 3 ms: named below the graph, not drawn
            note = fig.locator(".graph-note").inner_text()
            assert "warning 5 s" in note and "critical 10 s" in note, note
            assert "critical" in note and "off the graph" in note, note
            # the newest value, without hovering
            assert _legend_value(fig).startswith("3") and _legend_value(fig).endswith(" ms")
            xticks = fig.get_attribute("data-xticks") or ""
            assert re.search(r"\b([01]\d|2[0-3]):[0-5]\d\b", xticks), xticks
            assert not re.search(r"\d\s?(am|pm)\b", xticks, re.I), xticks
            page.screenshot(path=str(ARTIFACTS / "graph-ms-en.png"), full_page=True)

            fig = _graph(page, base, "/service/www1/backup?lang=en")
            assert _legend_value(fig) == "74.5 GiB"
            gib = (fig.get_attribute("data-yticks") or "").split("|")
            assert all(t.endswith(" GiB") for t in gib), gib
            # binary steps: every tick a whole number of GiB from a 1-2-4-8 series
            steps = {
                float(b.split()[0]) - float(a.split()[0])
                for a, b in zip(gib, gib[1:], strict=False)
            }
            assert len(steps) == 1 and steps.pop() in (8.0, 16.0, 32.0, 64.0), gib

            fig = _graph(page, base, "/service/www1/backup?lang=de")
            assert _legend_value(fig) == "74,5 GiB"
            page.screenshot(path=str(ARTIFACTS / "graph-gib-de.png"), full_page=True)
            fig = _graph(page, base, "/service/www1/website?lang=de")
            assert "außerhalb der Grafik" in fig.locator(".graph-note").inner_text()
            assert "zeit" in fig.locator(".u-legend").inner_text().lower()
            xticks = (fig.get_attribute("data-xticks") or "").split("|")
            assert len(set(xticks)) == len(xticks), xticks  # ticks that tell apart
            assert errors == [], errors
        finally:
            browser.close()


PHASES_CONFIG = """
settings: {max_check_spread: 1s, timezone: Europe/Berlin, default_host_check: none}
defaults: {check_interval: 2s, retry_interval: 2s, max_check_attempts: 1}
hosts:
  www1: {address: 127.0.0.1}
services:
  - name: site
    host: www1
    check: {type: http, url: "http://127.0.0.1:%d/"}
"""


@pytest.fixture
def http_checked(tmp_path: Path) -> Iterator[ServerProcess]:
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # no client addresses on stderr either
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=site.serve_forever, daemon=True).start()

    def ready(proc: ServerProcess) -> bool:
        return len(proc.series("www1", "site", "time_firstbyte")) >= 2

    try:
        with ui_server(tmp_path, PHASES_CONFIG % site.server_address[1], ready, "2 checks") as p:
            yield p
    finally:
        site.shutdown()
        site.server_close()


def test_http_response_time_is_stacked_by_phase(http_checked: ServerProcess) -> None:
    sync_playwright = _playwright()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{http_checked.port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in(page, base)
            for lang, names in (
                ("en", ("DNS", "Connect", "First byte")),
                ("de", ("Verbindung", "Erstes Byte")),
            ):
                page.goto(f"{base}/service/www1/site?lang={lang}")
                fig = page.locator("figure.graph.phases[data-points]")
                fig.wait_for(timeout=15_000)
                assert int(fig.get_attribute("data-points") or "0") >= 1
                # plain http: DNS (a literal: 0), connect and first byte; no TLS phase
                assert fig.get_attribute("data-phases") == "time_dns|time_connect|time_firstbyte"
                legend = fig.locator(".u-legend").inner_text()
                for name in names:
                    assert name.lower() in legend.lower(), legend
                assert re.search(r"\d+(\.\d+)?\s(ms|µs)", legend), legend  # each phase's own time
                ticks = fig.get_attribute("data-yticks") or ""
                assert ticks and all(t.endswith(("s", "ms", "µs")) for t in ticks.split("|"))
                page.screenshot(path=str(ARTIFACTS / f"graph-phases-{lang}.png"), full_page=True)
            assert errors == [], errors
        finally:
            browser.close()
