"""Every message a German page asks for has a German text: the pages are walked in German with
problems, an acknowledgement, a downtime, a flash message, graphs, history, availability, the
status page and its feed, the login page and an error page; any message id missing from the
German catalog fails the test (it would show English in the middle of German)."""

from __future__ import annotations

import httpx

from augenmass.core.values import PerfDatum
from augenmass.server.server import Server
from augenmass.web import i18n

from .helpers import result

DE = {"Accept": "text/html", "Accept-Language": "de-DE,de;q=0.9"}


async def test_german_pages_ask_for_no_untranslated_message(
    server: Server, operator: tuple[httpx.AsyncClient, str], tmp_path: object
) -> None:
    client, csrf = operator
    await result(server, "mail/smtp", 2, "connection refused")
    await result(server, "www1/website", 1, "slow", perf=(PerfDatum("time", 0.8, "s"),))
    await result(server, "mail/imap", 3, "no answer")
    await client.post(
        "/ui/action/acknowledge",
        data={"host": "mail", "service": "smtp", "comment": "on it", "csrf_token": csrf},
    )
    done = await client.post(
        "/ui/action/downtime",
        data={
            "host": "www1",
            "service": "",
            "comment": "patching",
            "hours": "2",
            "csrf_token": csrf,
        },
    )
    i18n.MISSING.clear()
    pages = [
        done.headers["location"],  # with its flash message
        "/",
        "/ui/problems",
        "/ui/problems?handled=unhandled",
        "/host/www1",
        "/host/mail",
        "/service/mail/smtp",
        "/service/www1/website",
        "/availability",
        "/availability?kind=host&target=mail",
        "/search?q=w",
        "/status",
        "/status/feed.atom",
        "/no/such/page",
    ]
    for path in pages:
        resp = await client.get(path, headers=DE)
        assert resp.status_code in (200, 404), (path, resp.status_code)
    await client.post("/logout", data={"csrf_token": csrf})
    for path in ("/login", "/status"):
        assert (await client.get(path, headers=DE)).status_code == 200
    assert set() == i18n.MISSING, sorted(i18n.MISSING)


def test_english_records_nothing() -> None:
    i18n.MISSING.clear()
    i18n.translator("en")("Something that has no German text yet")
    assert set() == i18n.MISSING
    i18n.translator("de")("Something that has no German text yet")
    assert {"Something that has no German text yet"} == i18n.MISSING
    i18n.MISSING.clear()


# Words a template may show as they are: the name, the plugins' vocabulary, a unit.
LITERAL_OK = {"augenmass", "SOFT", "HARD", "s"}


def test_templates_show_no_text_that_bypasses_translation() -> None:
    """Text written straight into a template (not through `_()`) is English on a German page."""
    import re
    from pathlib import Path

    from augenmass.web import render

    found: dict[str, list[str]] = {}
    for path in sorted((Path(render.__file__).parent / "templates").glob("*.html")):
        text = path.read_text()
        for pattern in (r"\{#.*?#\}", r"\{%.*?%\}", r"\{\{.*?\}\}", r"<script.*?</script>"):
            text = re.sub(pattern, " ", text, flags=re.S)
        shown = re.findall(r'(?:title|placeholder|aria-label|alt)="([^"]*[A-Za-z][^"]*)"', text)
        text = re.sub(r"<[^>]*>", " ", text)
        words = [w for w in re.findall(r"[A-Za-zÄÖÜäöüß][\w'’-]*", text) if w not in LITERAL_OK]
        if words or shown:
            found[path.name] = words + shown
    assert found == {}


async def test_german_durations_and_history(
    server: Server, operator: tuple[httpx.AsyncClient, str]
) -> None:
    import time

    client, _ = operator
    await result(server, "mail/smtp", 2, "refused", at=time.time() - 155)
    page = (await client.get("/service/mail/smtp?lang=de")).text
    assert "2 min 3" in page  # "2 min 35 s", not "2m 35s"
    assert '<span class="kind">Zustand</span>' in page
    english = (await client.get("/service/mail/smtp?lang=en")).text
    assert "2m 3" in english and '<span class="kind">State</span>' in english
