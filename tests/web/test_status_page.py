"""The public status page as a member reads it: one name per site, uptime without false
precision, the team's note; a config that would show two entries under one name is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.render import ENV
from augenmass.web.site import create_site
from e2e.helpers import cli

from .helpers import ShiftedClock, result, write_config

CONFIG = """
settings:
  default_host_check: none
  status_page:
    title: Party IT
    note: "Mail <is> slow since 10:00; we are on it.\\n– the IT team"
defaults: {check_interval: 1h, active_checks: false, max_check_attempts: 1}
hosts:
  www1: {address: 192.0.2.10, display_name: www.example.org, tags: [web]}
  www2: {address: 192.0.2.11, display_name: mitmachen.example.org, tags: [web]}
services:
  - name: website
    hosts: {tag: web}
    check: {type: dummy}
    public: {name: "Website $HOSTDISPLAYNAME$", group: Websites}
"""


@pytest.fixture
async def anon(tmp_path: Path) -> AsyncIterator[tuple[Server, httpx.AsyncClient]]:
    srv = Server(write_config(tmp_path / "config", CONFIG), tmp_path / "data", clock=ShiftedClock())
    await srv.start()
    try:
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            yield srv, c
    finally:
        await srv.stop()


async def test_each_site_has_its_own_public_name_and_the_note_is_shown(
    anon: tuple[Server, httpx.AsyncClient],
) -> None:
    srv, client = anon
    await result(srv, "www1/website", 0, "ok")
    await result(srv, "www2/website", 2, "down")
    html = (await client.get("/status")).text
    assert "Website www.example.org" in html and "Website mitmachen.example.org" in html
    assert "www1" not in html and "www2" not in html  # the host names stay private
    assert "Mail &lt;is&gt; slow since 10:00; we are on it." in html  # escaped
    # which one is down is plain
    down = html.index("Website mitmachen.example.org")
    assert "Outage" in html[down : down + 300]


def test_a_public_name_shown_twice_in_a_group_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG.replace("Website $HOSTDISPLAYNAME$", "Website"))
    out = cli("check-config", str(cfg))
    assert out.returncode == 2, out.stdout
    assert f"{cfg}:15: services[0].public:" in out.stderr, out.stderr
    assert "'Website' is also shown for www1/website" in out.stderr
    assert "$HOSTDISPLAYNAME$" in out.stderr


@pytest.mark.parametrize(
    ("value", "lang", "shown"),
    [
        (100.0, "en", "100 %"),
        (99.996, "en", "99.99 %"),  # never rounded up to 100
        (99.951, "de", "99,95 %"),
        (87.0, "en", "87.00 %"),
        (None, "en", "—"),
    ],
)
def test_uptime_is_shown_with_two_decimals_at_most(
    value: float | None, lang: str, shown: str
) -> None:
    assert ENV.from_string("{{ v | public_percent }}").render(v=value, lang=lang) == shown


async def test_the_incident_feed_is_atom_with_confirmed_changes_only(
    anon: tuple[Server, httpx.AsyncClient],
) -> None:
    import time
    import xml.etree.ElementTree as ET

    srv, client = anon
    now = time.time()
    await result(srv, "www2/website", 2, "down", at=now - 600)
    await result(srv, "www2/website", 0, "fine", at=now - 300)
    resp = await client.get("/status/feed.atom?lang=en")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(resp.content)  # well-formed XML
    assert feed.findtext("a:title", namespaces=ns) == "Party IT"
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert titles == [
        "Website mitmachen.example.org: Operational again",
        "Website mitmachen.example.org: Outage",
    ]
    ids = [e.findtext("a:id", namespaces=ns) or "" for e in feed.findall("a:entry", ns)]
    assert len(set(ids)) == 2 and not any("www2" in i for i in ids)  # no host name
    assert "www2" not in resp.text and "192.0.2" not in resp.text
    german = (await client.get("/status/feed.atom?lang=de")).text
    assert "Wieder in Betrieb" in german and "Ausfall" in german
    page = (await client.get("/status")).text
    assert 'type="application/atom+xml"' in page and "/status/feed.atom" in page
