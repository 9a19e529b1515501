"""The same API with the store in PostgreSQL: users, sessions, tokens, actions, audit."""

from __future__ import annotations

import pytest

from augenmass.api import audit, auth

from .conftest import Api

pytestmark = pytest.mark.postgres


@pytest.fixture
def store_url(pg_store_url: str) -> str:
    return pg_store_url


async def test_login_token_action_and_audit_on_postgresql(api: Api) -> None:
    assert api.server.store.dialect == "postgresql"
    headers = await api.login("olga")
    resp = await api.client.post(
        "/api/actions/acknowledge",
        json={"host": "web1", "service": "disk", "comment": "pg"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    [entry] = await audit.entries(api.control)
    assert (entry.user_name, entry.action) == ("olga", "acknowledge")
    probs = await api.client.get("/api/problems?handled=true", headers=api.bearer("read"))
    assert [p["service"] for p in probs.json()["problems"]] == ["disk"]
    assert (await api.client.get("/api/problems", headers=api.bearer("submit"))).status_code == 403
    await api.client.post("/api/logout")
    assert (await api.client.get("/api/session")).status_code == 401


async def test_the_session_cap_ends_the_oldest_on_postgresql(api: Api) -> None:
    auth.configure(api.control, auth.AuthSettings(max_sessions=2))
    cookies = []
    for _ in range(3):
        await api.login("olga")
        cookies.append(api.client.cookies[auth.COOKIE])
        api.client.cookies.clear()
    alive = []
    for cookie in cookies:
        api.client.cookies.set(auth.COOKIE, cookie)
        alive.append((await api.client.get("/api/session")).status_code == 200)
        api.client.cookies.clear()
    assert alive == [False, True, True]
