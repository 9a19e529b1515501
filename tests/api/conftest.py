"""A real Server (dummy checks, SQLite in tmp_path) with the real FastAPI app over ASGI."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from augenmass.api import accounts
from augenmass.core.values import CheckKey
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

CONFIG = r"""
settings: {max_check_spread: 100ms}
hosts:
  router: {address: 127.0.0.1, groups: [network], check: {type: dummy, state: ok}}
  web1:
    check: none  # web1 and web2: assumed UP (the API is the subject here, not host checks)
    address: 127.0.0.1
    parents: [router]
    groups: [web]
    tags: [prod]
    vars: {snmp_community: s3cr3t-community}
  web2: {address: 127.0.0.1, parents: [web1], groups: [web], check: none}
services:
  - name: disk
    host: web1
    check_interval: 1s
    max_check_attempts: 1
    check:
      type: dummy
      state: critical
      output: "<script>alert(1)</script>"
      perfdata: 'used=91%;80;90 ''we"ird\la bel''=1'
  - name: load
    host: web1
    check_interval: 1s
    max_check_attempts: 1
    check: {type: dummy, state: warning, output: "load high", perfdata: "load1=3.5;2;4;0"}
  - name: ping
    host: web2
    check_interval: 1s
    max_check_attempts: 1
    check: {type: dummy, state: ok, output: "fine"}
  - name: backup
    host: web2
    active_checks: false
    check_interval: 1h
    max_check_attempts: 1
    check: {type: dummy, state: ok}
"""

PASSWORDS = {"ada": "correct horse battery", "olga": "operator pass 1", "vera": "viewer pass 1"}
ROLES = {"ada": "admin", "olga": "operator", "vera": "viewer"}


async def wait_until(pred: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Api:
    server: Server
    control: Control
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str]

    def state(self, host: str, service: str | None = None) -> int:
        st = self.server.engine.states.get(CheckKey(host, service))
        return -1 if st is None or not st.checked else st.state

    async def login(self, name: str) -> dict[str, str]:
        """Log in with the cookie jar; returns headers carrying the CSRF token."""
        resp = await self.client.post(
            "/api/login", json={"name": name, "password": PASSWORDS[name]}
        )
        assert resp.status_code == 200, resp.text
        return {"X-CSRF-Token": resp.json()["csrf_token"]}

    def bearer(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "augenmass.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its smallest cost: the tests check behaviour, not hash strength."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_store_url() -> AsyncIterator[str]:
    """A fresh schema in the test PostgreSQL; skipped when none answers (failed under CI)."""
    import asyncpg

    try:
        con = await asyncpg.connect(PG_URL, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"api_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_URL}?schema={name}"
    finally:
        await con.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await con.close()


@pytest.fixture
def store_url() -> str | None:
    return None  # SQLite in the data directory; a test module may override this fixture


@pytest.fixture
async def api(tmp_path: Path, config_file: Path, store_url: str | None) -> AsyncIterator[Api]:
    server = Server(config_file, tmp_path / "data", store_url=store_url)
    await server.start()
    try:
        control = Control(server)
        for name, role in ROLES.items():
            await accounts.add_user(control.accounts, name, PASSWORDS[name], role)
        tokens = {
            scope: await accounts.create_token(
                control.accounts, f"agent-{scope}", frozenset({scope})
            )
            for scope in ("read", "write", "submit")
        }
        app = create_site(control)
        # https: the session cookie is Secure, and httpx (like a browser) sends it only there
        transport = httpx.ASGITransport(app=app, client=("127.0.0.77", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            # the router's host check too: tests read its state (/metrics), and on a loaded
            # machine it can come after web1's services
            keys = (CheckKey("web1", "disk"), CheckKey("web1", "load"), CheckKey("router"))
            await wait_until(
                lambda: all(
                    (st := server.engine.states.get(key)) is not None and st.checked for key in keys
                ),
                "the first check results",
            )
            yield Api(server, control, app, c, tokens)
    finally:
        await server.stop()
