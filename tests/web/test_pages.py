"""The web UI through the real FastAPI app and a real Server: pages, actions, escaping."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import httpx

from augenmass.control import AgentBatch
from augenmass.core.values import CheckKey, CheckResult, PerfDatum
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.render import format_time
from augenmass.web.site import create_site

from .helpers import HOSTILE, add_user, login, post_login, result, write_config

Op = tuple[httpx.AsyncClient, str]  # a logged-in operator's client and CSRF token


async def test_pages_need_a_login(anon: httpx.AsyncClient) -> None:
    for path in ("/", "/host/www1", "/service/www1/website", "/availability", "/search?q=w"):
        resp = await anon.get(path)
        assert resp.status_code == 303, path
        assert resp.headers["location"].startswith("/login?next=")
    assert (await anon.get("/ui/problems")).status_code == 401
    assert (await anon.get("/ui/graph/www1/website?label=time")).status_code == 303


async def test_wrong_password_and_foreign_next(server: Server, anon: httpx.AsyncClient) -> None:
    await add_user(server, "vera", "viewer")
    bad = await post_login(anon, "vera", "nope")
    assert bad.status_code == 401
    assert "Wrong name or password" in bad.text
    ok = await post_login(anon, "vera", "correct horse battery", "//evil.example/")
    assert ok.status_code == 303 and ok.headers["location"] == "/"


async def test_dashboard_orders_and_escapes(server: Server, anon: httpx.AsyncClient) -> None:
    await add_user(server, "vera", "viewer")
    await result(server, "www1/evil", 1, HOSTILE)
    await result(server, "mail/smtp", 2, "connection refused")
    await result(server, "www1/website", 0, "HTTP OK")
    await login(anon, "vera")
    page = await anon.get("/")
    assert page.status_code == 200
    html = page.text
    # hostile output is text, never markup
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    # CRITICAL before WARNING; counts per state
    rows = re.findall(r'data-key="([^"]+)"', html)
    assert rows == ["mail/smtp", "www1/evil"]
    assert re.search(r'st-critical"><span class="n">1</span> CRITICAL', html)
    # no inline script anywhere, and a CSP that forbids it
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # filters, and the fragment htmx refreshes
    crit = await anon.get("/ui/problems?state=CRITICAL")
    assert re.findall(r'data-key="([^"]+)"', crit.text) == ["mail/smtp"]
    assert "<html" not in crit.text


async def test_acknowledge_moves_a_problem_to_handled(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = operator
    await result(server, "mail/smtp", 2, "connection refused")
    await result(server, "www1/evil", 1, "slow")
    form = {"host": "mail", "service": "smtp", "comment": "on it", "csrf_token": csrf}
    # without the CSRF token: refused, nothing changes
    denied = await client.post("/ui/action/acknowledge", data={**form, "csrf_token": "x"})
    assert denied.status_code == 403
    assert server.engine.states[CheckKey("mail", "smtp")].acknowledgement is None
    done = await client.post("/ui/action/acknowledge", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/service/mail/smtp"
    ack = server.engine.states[CheckKey("mail", "smtp")].acknowledgement
    assert ack is not None and ack.author == "olga" and ack.comment == "on it"
    page = (await client.get("/")).text
    # the acknowledged CRITICAL now comes after the unhandled WARNING, marked as handled
    assert re.findall(r'data-key="([^"]+)"', page) == ["www1/evil", "mail/smtp"]
    assert re.search(r'class="row st-critical handled" data-key="mail/smtp"', page)
    unhandled = await client.get("/ui/problems?handled=unhandled")
    assert re.findall(r'data-key="([^"]+)"', unhandled.text) == ["www1/evil"]
    # the service page shows the ack and offers to remove it
    svc = (await client.get("/service/mail/smtp")).text
    assert "on it" in svc and "/ui/action/remove_acknowledgement" in svc


async def test_downtime_and_check_now(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = operator
    base = {"host": "mail", "service": "", "csrf_token": csrf}
    resp = await client.post(
        "/ui/action/downtime", data={**base, "comment": "patching", "hours": "2"}
    )
    assert resp.status_code == 303
    assert "Done." in (await client.get(resp.headers["location"])).text
    keys = {dt.key for dt in server.engine.downtimes.values()}
    assert CheckKey("mail") in keys and CheckKey("mail", "smtp") in keys
    bad = await client.post("/ui/action/downtime", data={**base, "comment": "x", "hours": "-1"})
    page = (await client.get(bad.headers["location"])).text
    assert "hours must be between 0 and one year" in page  # once, from the server
    assert "hours must be between" not in (await client.get("/host/mail")).text
    assert "patching" in page and "/ui/action/remove_downtime" in page
    again = await client.post("/ui/action/check_now", data={**base, "service": "smtp"})
    assert again.status_code == 303


async def test_viewer_cannot_act(server: Server, anon: httpx.AsyncClient) -> None:
    await add_user(server, "vera", "viewer")
    csrf = await login(anon, "vera")
    await result(server, "mail/smtp", 2, "down")
    page = (await anon.get("/service/mail/smtp")).text
    assert "/ui/action/acknowledge" not in page
    form = {"host": "mail", "service": "smtp", "comment": "x", "csrf_token": csrf}
    assert (await anon.post("/ui/action/acknowledge", data=form)).status_code == 403
    assert server.engine.states[CheckKey("mail", "smtp")].acknowledgement is None


async def test_object_page_shows_output_history_and_graph(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, _ = operator
    now = server.clock.now()
    for i, value in enumerate((0.2, 0.4, 3.5)):
        pd = (PerfDatum("time", value, "s", "1", "2:3"),)
        await result(server, "www1/website", 0 if value < 1 else 2, f"t={value}", pd, now - 60 + i)
    html = (await client.get("/service/www1/website")).text
    assert "t=3.5" in html and 'data-label="time"' in html
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html
    data = (await client.get("/ui/graph/www1/website?label=time&range=6h")).json()
    assert data["avg"] == [0.2, 0.4, 3.5] and data["resolution"] == "raw"
    assert data["warn"] == [1.0] and data["crit"] == [2.0, 3.0]
    assert (await client.get("/ui/graph/www1/nope?label=time")).status_code == 404
    assert "state" in html and "CRITICAL" in html  # the history timeline


async def test_search_as_you_type(server: Server, operator: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = operator
    frag = await client.get("/search?q=smt", headers={"HX-Request": "true"})
    assert "/service/mail/smtp" in frag.text and "<html" not in frag.text
    full = await client.get("/search?q=192.0.2.10")
    assert "/host/www1" in full.text and "<html" in full.text
    none = await client.get("/search?q=%3Cscript%3E", headers={"HX-Request": "true"})
    assert "<script>" not in none.text


async def test_static_files_and_no_escape_from_static(anon: httpx.AsyncClient) -> None:
    js = await anon.get("/static/vendor/htmx/htmx.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert (await anon.get("/static/../routes.py")).status_code == 404
    assert (await anon.get("/static/%2e%2e/routes.py")).status_code == 404


async def test_german_by_browser_language_and_switch(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, _ = operator
    de = await client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Probleme" in de.text and 'lang="de"' in de.text
    en = await client.get("/?lang=en", headers={"Accept-Language": "de"})
    assert "Problems" in en.text and 'lang="en"' in en.text
    # the explicit choice sticks in a cookie
    again = await client.get("/", headers={"Accept-Language": "de"})
    assert 'lang="en"' in again.text


async def test_availability_page_and_csv(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    client, _ = operator
    now = server.clock.now()
    await result(server, "mail/smtp", 0, "ok", at=now - 3000)
    await result(server, "mail/smtp", 2, "down", at=now - 2000)
    await result(server, "mail/smtp", 0, "ok", at=now - 1000)
    page = await client.get("/availability?kind=service&target=mail/smtp&period=1d")
    assert page.status_code == 200 and "mail" in page.text
    csv_resp = await client.get("/availability.csv?kind=host&target=mail&period=1d")
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.strip().splitlines()
    assert lines[0].startswith("host,service,percent_ok")
    smtp = [ln for ln in lines if ln.startswith("mail,smtp,")]
    assert len(smtp) == 1
    fields = smtp[0].split(",")
    # down 1000 s of the 3000 s since the first result; times are wall-clock, so allow slack
    assert 66.0 < float(fields[2]) < 67.5
    assert fields[7] == "1" and 990 <= float(fields[9]) <= 1010
    # the outage start in the configured zone, with its offset (not a bare UTC "Z")
    start = datetime.fromisoformat(fields[8])
    assert start.utcoffset() is not None and abs(start.timestamp() - (now - 2000)) < 5


async def test_status_page_is_public_and_private(server: Server, anon: httpx.AsyncClient) -> None:
    await result(server, "www1/website", 2, "HTTP 500 on 192.0.2.10")
    await result(server, "mail/smtp", 0, "SMTP <ok> 250")
    await result(server, "mail/imap", 0, "IMAP secret-banner")
    await result(server, "www1/evil", 2, HOSTILE)
    resp = await anon.get("/status")
    assert resp.status_code == 200
    html = resp.text
    assert "Party IT &lt;status&gt;" in html
    assert "Homepage" in html and "Mail delivery" in html and "Mailbox" in html
    # groups in the configured order
    assert html.index("Websites") < html.index("Mail delivery")
    # no host names, addresses, private services or output not marked public
    for secret in ("www1", "192.0.2", "evil", "alert(", "disk", "secret-banner", "HTTP 500"):
        assert secret not in html, secret
    assert "SMTP &lt;ok&gt; 250" in html  # show_output: true, escaped
    assert "Outage" in html and "Some systems have problems" in html
    assert len(re.findall(r'class="bar b-', html)) == 3 * 90


async def test_availability_carries_the_state_from_before_the_period(
    server: Server, operator: Op
) -> None:
    client, _ = operator
    now = server.clock.now()
    await result(server, "mail/imap", 0, "ok", at=now - 5 * 86400)
    await result(server, "mail/imap", 2, "down", at=now - 3 * 86400)  # still down
    await result(server, "mail/smtp", 0, "ok", at=now - 3 * 86400)
    resp = await client.get("/availability.csv?kind=group&target=&period=1d")
    assert resp.status_code == 200  # an empty group: just the header
    resp = await client.get("/availability.csv?kind=host&target=mail&period=1d")
    rows = {ln.split(",")[1]: ln.split(",") for ln in resp.text.strip().splitlines()[1:]}
    assert float(rows["imap"][2]) == 0.0 and rows["imap"][7] == "1"
    assert float(rows["smtp"][2]) == 100.0
    assert rows["disk"][2] == ""  # never checked: no data, no percentage


async def test_every_page_says_so_while_the_store_cannot_be_written(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    import asyncio
    import sqlite3
    import time

    from augenmass.core.values import CheckResult

    client, _ = operator
    assert "Data cannot be saved" not in (await client.get("/")).text
    # another process holds SQLite's write lock: every write of the server fails
    holder = sqlite3.connect(server.data_dir / "augenmass.db", timeout=1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        key = CheckKey("mail", "smtp")
        await server.ingest(CheckResult(key, 2, "connection refused", started_at=time.time()))
        for _ in range(200):  # bounded: 20 s
            if server.writer.degraded:
                break
            await asyncio.sleep(0.1)
        page = (await client.get("/")).text
        assert "Data cannot be saved" in page and "database is locked" in page
        assert "states" in page  # what waits in memory
        # the problem itself is shown: the engine's state does not wait for the store
        assert 'data-key="mail/smtp"' in page
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for _ in range(200):
        if not server.writer.degraded:
            break
        await asyncio.sleep(0.1)
    assert "Data cannot be saved" not in (await client.get("/")).text


async def test_since_is_when_the_problem_began_not_its_last_change(
    server: Server, anon: httpx.AsyncClient
) -> None:
    await add_user(server, "vera", "viewer")
    now = time.time()
    began, worse, back = now - 3 * 3600, now - 10 * 60, now - 60
    await result(server, "mail/smtp", 1, "slow", at=began)
    await result(server, "mail/smtp", 2, "refused", at=worse)  # worse, but the same problem
    await login(anon, "vera")
    dashboard = (await anon.get("/")).text
    assert f'title="{format_time(began)}">3h' in dashboard
    page = (await anon.get("/service/mail/smtp")).text
    assert f"<dt>Since</dt><dd>{format_time(began)} (3h" in page
    view = (await anon.get("/api/services/mail/smtp")).json()
    assert (view["problem_since"], view["last_state_change"]) == (began, worse)
    [problem] = (await anon.get("/api/problems")).json()["problems"]
    assert (problem["service"], problem["problem_since"]) == ("smtp", began)

    await result(server, "mail/smtp", 0, "fine", at=back)  # over: since its recovery
    page = (await anon.get("/service/mail/smtp")).text
    assert f"<dt>Since</dt><dd>{format_time(back)} (1m" in page
    view = (await anon.get("/api/services/mail/smtp")).json()
    assert (view["problem_since"], view["last_state_change"]) == (None, back)


AGENT_CONFIG = """
settings: {default_host_check: none}
defaults: {check_interval: 1h, active_checks: false}
agents:
  office: {}
hosts:
  office: {address: 192.0.2.30}
  office-pc: {address: 192.0.2.31, agent: office}
services:
  - {name: disk, host: office-pc, check: {type: dummy}}
"""


async def test_agent_host_page_shows_its_link_skew_and_buffer(tmp_path: Path) -> None:
    srv = Server(write_config(tmp_path / "config", AGENT_CONFIG), tmp_path / "data")
    await srv.start()
    try:
        await add_user(srv, "vera", "viewer")
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "vera")
            before = (await c.get("/host/office")).text
            assert "Clock skew" in before and "none since the server started" in before
            # a batch as the agent sends it: its clock 42.5 s ahead, 12 results still buffered,
            # 7 dropped; the version string comes from the agent, so it must come out escaped
            disk = CheckResult(CheckKey("office-pc", "disk"), 0, "ok", started_at=time.time())
            await Control(srv).agent_results(
                "office",
                AgentBatch(
                    epoch="e1",
                    sent_at=time.time() + 42.5,
                    dropped=7,
                    buffered=12,
                    results=[(1, disk)],
                    config_version=HOSTILE[:64],
                ),
            )
            html = (await c.get("/host/office")).text
            facts = re.sub(r"\s+", " ", html)
            assert re.search(r"Clock skew</dt><dd>\+42\.[45] s</dd>", facts)
            assert "Buffered results</dt><dd>12</dd>" in facts
            assert "Dropped results</dt><dd>7</dd>" in facts
            assert "Connected</dt><dd>yes</dd>" in facts
            assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
            german = (await c.get("/host/office?lang=de")).text
            assert "Uhrzeitabweichung" in german and "Gepufferte Ergebnisse" in german
            # a host the agent runs is not the agent: no agent card there
            assert "Clock skew" not in (await c.get("/host/office-pc")).text
    finally:
        await srv.stop()
