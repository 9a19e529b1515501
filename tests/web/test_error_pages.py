"""A page that does not exist, opened in a browser, is a page in the reader's language; the API
and htmx fragments keep their JSON errors."""

from __future__ import annotations

import httpx

from augenmass.server.server import Server

from .helpers import add_user, login

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_unknown_pages_and_hosts_are_html_in_both_languages(
    server: Server, anon: httpx.AsyncClient
) -> None:
    await add_user(server, "vera", "viewer")
    await login(anon, "vera")
    for path in ("/no/such/page", "/host/nohost", "/service/www1/nosuch"):
        english = await anon.get(path + "?lang=en", headers=HTML)
        assert english.status_code == 404
        assert english.headers["content-type"].startswith("text/html")
        assert "Not found" in english.text and "Back to the overview" in english.text
        assert '{"detail"' not in english.text
        german = await anon.get(path + "?lang=de", headers=HTML)
        assert german.status_code == 404
        assert "Nicht gefunden" in german.text and "Zurück zur Übersicht" in german.text
    # the page has the usual headers (CSP ...)
    assert "content-security-policy" in english.headers


async def test_the_api_and_fragments_keep_json_errors(
    server: Server, anon: httpx.AsyncClient
) -> None:
    await add_user(server, "vera", "viewer")
    await login(anon, "vera")
    api = await anon.get("/api/hosts/nohost", headers=HTML)
    assert api.status_code == 404 and api.json()["detail"]
    fragment = await anon.get("/host/nohost", headers={**HTML, "HX-Request": "true"})
    assert fragment.status_code == 404 and fragment.json()["detail"]
    plain = await anon.get("/no/such/page")  # a script without Accept: text/html
    assert plain.status_code == 404 and plain.json() == {"detail": "Not Found"}


async def test_a_page_needing_a_login_still_redirects(anon: httpx.AsyncClient) -> None:
    resp = await anon.get("/host/www1", headers=HTML)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
