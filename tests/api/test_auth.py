"""Logins, sessions, roles, CSRF and API tokens; refused requests change nothing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from augenmass.api import accounts, audit, auth
from augenmass.api.throttle import LoginThrottle
from augenmass.core.values import CheckKey
from augenmass.store.auth_schema import sessions

from .conftest import PASSWORDS, Api

ACK = {"host": "web1", "service": "disk", "comment": "mine"}


def _client(api: Api, address: str = "127.0.0.77") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.app, client=(address, 5556))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def _unchanged(api: Api) -> None:
    st = api.server.engine.states[CheckKey("web1", "disk")]
    assert st.acknowledgement is None
    assert await audit.entries(api.control) == []


async def test_login_sets_a_strict_secure_httponly_cookie(api: Api) -> None:
    resp = await api.client.post("/api/login", json={"name": "ada", "password": PASSWORDS["ada"]})
    assert resp.status_code == 200
    cookie = resp.headers["set-cookie"].lower()
    for attr in ("httponly", "secure", "samesite=strict", "path=/"):
        assert attr in cookie
    assert PASSWORDS["ada"] not in resp.text
    me = await api.client.get("/api/session")
    assert me.json()["user"] == "ada" and me.json()["role"] == "admin"


async def test_wrong_password_and_unknown_user_are_401(api: Api) -> None:
    for name, pw in (("ada", "wrong"), ("nobody", "x")):
        resp = await api.client.post("/api/login", json={"name": name, "password": pw})
        assert resp.status_code == 401
        assert "set-cookie" not in resp.headers
    assert (await api.client.get("/api/session")).status_code == 401


async def test_brute_force_locks_the_account_not_others(api: Api) -> None:
    auth.configure(
        api.control, auth.AuthSettings(throttle=LoginThrottle(free_failures=2, base_delay=60))
    )
    for _ in range(2):
        bad = await api.client.post("/api/login", json={"name": "ada", "password": "guess"})
        assert bad.status_code == 401
    right = await api.client.post("/api/login", json={"name": "ada", "password": PASSWORDS["ada"]})
    assert right.status_code == 429  # locked for a while, even with the right password
    assert 55 <= int(right.headers["retry-after"]) <= 60
    await api.login("olga")  # another account is not affected


async def test_source_limit_stops_a_spray_but_not_other_sources(api: Api) -> None:
    auth.configure(api.control, auth.AuthSettings(throttle=LoginThrottle(source_failures=5)))
    for i in range(5):
        resp = await api.client.post("/api/login", json={"name": f"u{i}", "password": "x"})
        assert resp.status_code == 401
    resp = await api.client.post("/api/login", json={"name": "ada", "password": PASSWORDS["ada"]})
    assert resp.status_code == 429  # this source is over its limit, whatever it sends
    async with _client(api, "127.0.0.78") as elsewhere:  # another address: not affected
        ok = await elsewhere.post("/api/login", json={"name": "ada", "password": PASSWORDS["ada"]})
        assert ok.status_code == 200


async def test_logout_revokes_the_session_server_side(api: Api) -> None:
    await api.login("vera")
    cookie = api.client.cookies.get(auth.COOKIE)
    assert cookie
    assert (await api.client.post("/api/logout")).status_code == 200
    async with _client(api) as other:
        other.cookies.set(auth.COOKIE, cookie)  # a stolen copy of the old cookie
        assert (await other.get("/api/session")).status_code == 401


async def test_idle_and_absolute_timeouts(api: Api) -> None:
    auth.configure(api.control, auth.AuthSettings(idle_timeout=0.3))
    await api.login("vera")
    assert (await api.client.get("/api/session")).status_code == 200
    await asyncio.sleep(0.4)
    assert (await api.client.get("/api/session")).status_code == 401
    auth.configure(api.control, auth.AuthSettings(absolute_timeout=0.3))
    await api.login("vera")
    for _ in range(4):  # staying active does not stretch the absolute limit
        await asyncio.sleep(0.1)
        await api.client.get("/api/session")
    assert (await api.client.get("/api/session")).status_code == 401


async def test_password_change_ends_other_sessions_role_change_ends_all(api: Api) -> None:
    await api.login("olga")
    async with _client(api) as second:
        resp = await second.post("/api/login", json={"name": "olga", "password": PASSWORDS["olga"]})
        assert resp.status_code == 200
        keep = accounts.digest(api.client.cookies[auth.COOKIE])
        await accounts.set_password(api.control.accounts, "olga", "copper-kettle-drift-17", keep)
        assert (await second.get("/api/session")).status_code == 401
        assert (await api.client.get("/api/session")).status_code == 200
        await accounts.set_role(api.control.accounts, "olga", "viewer")
        assert (await api.client.get("/api/session")).status_code == 401


async def test_roles(api: Api) -> None:
    headers = await api.login("vera")
    assert (await api.client.get("/api/problems")).status_code == 200
    resp = await api.client.post("/api/actions/acknowledge", json=ACK, headers=headers)
    assert resp.status_code == 403
    headers = await api.login("olga")
    assert (await api.client.post("/api/actions/reload", headers=headers)).status_code == 403
    assert (await api.client.get("/api/audit")).status_code == 403
    await _unchanged(api)
    headers = await api.login("ada")
    assert (await api.client.post("/api/actions/reload", headers=headers)).status_code == 200


async def test_csrf_is_required_for_session_posts(api: Api) -> None:
    headers = await api.login("olga")
    no_token = await api.client.post("/api/actions/acknowledge", json=ACK)
    assert no_token.status_code == 403
    wrong = await api.client.post(
        "/api/actions/acknowledge", json=ACK, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    form = await api.client.post("/api/actions/acknowledge", data={"host": "web1"})
    assert form.status_code == 403
    await _unchanged(api)
    ok = await api.client.post("/api/actions/acknowledge", json=ACK, headers=headers)
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer am_wrong"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Basic YWRhOng="}, 401),
    ],
)
async def test_missing_or_wrong_token_is_401(
    api: Api, headers: dict[str, str], status: int
) -> None:
    resp = await api.client.post("/api/actions/acknowledge", json=ACK, headers=headers)
    assert resp.status_code == status
    assert (await api.client.get("/api/problems", headers=headers)).status_code == status
    await _unchanged(api)


async def test_wrong_scope_is_403_and_revocation_is_immediate(api: Api) -> None:
    for scope in ("read", "submit"):
        resp = await api.client.post(
            "/api/actions/acknowledge", json=ACK, headers=api.bearer(scope)
        )
        assert resp.status_code == 403, scope
    await _unchanged(api)
    assert (await api.client.get("/api/problems", headers=api.bearer("write"))).status_code == 403
    await accounts.revoke_token(api.control.accounts, "agent-read")
    assert (await api.client.get("/api/problems", headers=api.bearer("read"))).status_code == 401


async def test_tokens_and_passwords_are_hashed_at_rest(api: Api) -> None:
    await api.server.writer.flush()
    db = api.server.data_dir / "augenmass.db"
    blob = b"".join(p.read_bytes() for p in db.parent.glob("augenmass.db*"))
    for secret in api.tokens.values():
        assert secret.encode() not in blob
    for pw in PASSWORDS.values():
        assert pw.encode() not in blob


async def test_security_headers_on_every_answer(api: Api) -> None:
    for path in ("/api/health", "/api/nope", "/api/problems", "/metrics"):
        resp = await api.client.get(path)
        assert "default-src 'self'" in resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"


async def test_abandoned_sessions_are_purged_at_the_next_login(api: Api) -> None:
    auth.configure(api.control, auth.AuthSettings(idle_timeout=0.2))
    await api.login("vera")
    await asyncio.sleep(0.3)
    await api.login("olga")
    async with api.server.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(sessions.c.user_id))).all()
    olga = await accounts.get_user(api.control.accounts, "olga")
    assert olga is not None
    assert [r.user_id for r in rows] == [olga[0].id]


async def test_a_submit_token_cannot_set_a_host_without_passive_results(api: Api) -> None:
    """web2 has no check (assumed UP), so nothing would end a passive DOWN: a submit token must
    not be able to mark it DOWN (which would also silence every service behind it)."""
    url = "/api/actions/process-check-result"
    body = {"host": "web2", "exit_status": 2, "plugin_output": "down"}
    resp = await api.client.post(url, json=body, headers=api.bearer("submit"))
    assert resp.status_code == 409, resp.text
    assert "a passive state would never expire" in resp.json()["detail"]
    assert api.state("web2") == 0  # nothing applied: still assumed UP


async def test_failed_logins_are_logged_by_cut_name_and_reason(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    long_name = "eve-" + "x" * 96  # an account's name: 100 characters
    await accounts.add_user(api.control.accounts, long_name, "a long enough pass 1", "viewer")
    resp = await api.client.post("/api/login", json={"name": long_name, "password": "nope"})
    assert resp.status_code == 401
    [record] = [r for r in caplog.records if r.getMessage() == "login failed"]
    assert record.__dict__["user"] == long_name[:64] + "…"
    assert record.__dict__["reason"] == "password"
    assert "127.0.0.77" not in caplog.text  # never the address
    caplog.clear()
    hostile = "eve\u202egnp.exe"  # a bidi override: no account can have it
    resp = await api.client.post("/api/login", json={"name": hostile, "password": "nope"})
    assert resp.status_code == 401
    assert "\u202e" not in caplog.text and "gnp.exe" not in caplog.text


async def test_a_failed_login_under_a_name_that_is_no_account_does_not_log_the_name(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    typo = "Summer-2026!secret"  # the password, typed into the name field
    resp = await api.client.post("/api/login", json={"name": typo, "password": "ada"})
    assert resp.status_code == 401
    [record] = [r for r in caplog.records if r.getMessage() == "login failed"]
    assert record.__dict__["user"] == "(no such account)"
    assert typo not in caplog.text
