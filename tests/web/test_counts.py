"""The dashboard's count chips count what the filters look at (host, tag, group, handled), so
"2 CRITICAL" next to a list of one is never seen."""

from __future__ import annotations

import re

import httpx

from augenmass.core.values import Acknowledgement, CheckKey
from augenmass.server.control import Control
from augenmass.server.server import Server

from .helpers import add_user, login, result


def chips(html: str) -> dict[str, int]:
    return {s: int(n) for n, s in re.findall(r'<span class="n">(\d+)</span> ([A-Z]+)', html)}


def listed(html: str) -> list[str]:
    return re.findall(r'data-key="([^"]+)"', html)


async def test_counts_follow_the_filters(server: Server, anon: httpx.AsyncClient) -> None:
    await result(server, "www1/website", 2, "down")
    await result(server, "mail/smtp", 2, "refused")
    await result(server, "mail/imap", 1, "slow")
    await result(server, "mail/disk", 0, "fine")
    await add_user(server, "vera", "viewer")
    await login(anon, "vera")

    everything = chips((await anon.get("/ui/problems")).text)
    assert (everything["CRITICAL"], everything["WARNING"]) == (2, 1)

    mail = (await anon.get("/ui/problems?tag=mail")).text
    assert listed(mail) == ["mail/smtp", "mail/imap"]
    assert (chips(mail)["CRITICAL"], chips(mail)["WARNING"], chips(mail)["OK"]) == (1, 1, 1)

    host = (await anon.get("/ui/problems?host=www")).text
    assert listed(host) == ["www1/website"] and chips(host)["CRITICAL"] == 1
    assert chips(host)["WARNING"] == 0

    # a state filter narrows the list, not the other chips
    crit = (await anon.get("/ui/problems?state=CRITICAL")).text
    assert len(listed(crit)) == 2 and chips(crit)["WARNING"] == 1

    ack = Acknowledgement(author="olga", comment="on it", at=0.0)
    await Control(server).acknowledge(CheckKey("mail", "smtp"), ack)
    unhandled = (await anon.get("/ui/problems?handled=unhandled")).text
    assert "mail/smtp" not in listed(unhandled) and chips(unhandled)["CRITICAL"] == 1


async def test_availability_says_how_much_of_the_period_has_no_data(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    """30 days with 8 minutes of data is not "0.000 %" without a word: the page says so."""
    client, _ = operator
    now = server.clock.now()
    await result(server, "mail/smtp", 2, "down", at=now - 480)
    page = (await client.get("/availability?kind=service&target=mail/smtp&period=30d")).text
    note = re.search(r'<p class="notice" id="no-data">([^<]*)</p>', page)
    assert note and "No data for 100 % of this period" in note.group(1), page[-3000:]
    german = (
        await client.get("/availability?kind=service&target=mail/smtp&period=30d&lang=de")
    ).text
    assert "Keine Daten für 100 %" in german and "Ohne Daten" in german
    full = (await client.get("/availability?kind=service&target=mail/smtp&period=1d")).text
    assert 'class="num">99 %</td>' in full  # the share without data in the row: 8 min of a day


async def test_next_steps_show_only_while_nobody_would_be_told(
    server: Server, anon: httpx.AsyncClient, tmp_path: object
) -> None:
    from pathlib import Path

    from augenmass.server.control import Control
    from augenmass.web.site import create_site

    from .helpers import CONFIG, ShiftedClock, write_config

    await add_user(server, "vera", "viewer")
    await login(anon, "vera")
    assert 'id="next-steps"' in (await anon.get("/")).text
    assert isinstance(tmp_path, Path)
    with_contacts = CONFIG + "contacts:\n  ada: {email: ada@example.org}\n"
    srv = Server(
        write_config(tmp_path / "c2", with_contacts), tmp_path / "d2", clock=ShiftedClock()
    )
    await srv.start()
    try:
        await add_user(srv, "vera", "viewer")
        transport = httpx.ASGITransport(app=create_site(Control(srv)))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            await login(c, "vera")
            assert 'id="next-steps"' not in (await c.get("/")).text
    finally:
        await srv.stop()
