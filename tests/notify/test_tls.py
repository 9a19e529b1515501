"""SMTP with TLS and authentication against a real aiosmtpd server and certificates made here
(trustme): STARTTLS required with AUTH LOGIN and PLAIN, implicit TLS (SMTPS), a certificate
from a CA the client does not trust (refused, visible, retried), a wrong password (visible,
never stored). The client trusts the test CA the way a deployment would: through the system
trust store (`SSL_CERT_FILE`), not through a test-only hook."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from augenmass.config import load_config
from augenmass.notify import NotificationService
from augenmass.store import Store
from augenmass.store.notify_schema import notify_log, notify_outbox
from notify.helpers import BASE, MailServer, ManualClock, free_port, note, write_config

USER = "monitor-smtp"
PASSWORD = "Zq7-sentinel-Pw-41x"  # must never show up in a log, the outbox or the log table


def secret_forms() -> list[str]:
    """The password as it could leak: plain, and inside the AUTH PLAIN / LOGIN payloads."""
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    login = base64.b64encode(PASSWORD.encode()).decode()
    return [PASSWORD, plain, login]


class Auth:
    """aiosmtpd authenticator: records the mechanisms used, accepts only USER/PASSWORD."""

    def __init__(self) -> None:
        self.mechanisms: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        self.mechanisms.append(mechanism)
        ok = (
            isinstance(data, LoginPassword)
            and data.login == USER.encode()
            and data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture
def trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ca: trustme.CA) -> Path:
    """The client's trust store holds the test CA (and nothing else)."""
    path = tmp_path / "trusted-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))
    return path


def running(server: MailServer) -> Iterator[MailServer]:
    server.accept()
    try:
        yield server
    finally:
        server.refuse()


def smtp_plan(tmp_path: Path, port: int, settings: str) -> Any:
    base = BASE.replace("timeout: 5s}}", f"timeout: 5s, {settings}}}}}")
    assert base != BASE
    return load_config(write_config(tmp_path, port, base=base))


async def rows(store: Store, table: sa.Table) -> list[Any]:
    async with store.engine.connect() as conn:
        return list(await conn.execute(sa.select(table).order_by(table.c.id)))


async def assert_secret_nowhere(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    stored = " ".join(
        [repr(tuple(r)) for t in (notify_outbox, notify_log) for r in await rows(store, t)]
    )
    # our logs and the SMTP client's (the test server's own debug log is not ours)
    logged = " ".join(
        f"{r.getMessage()} {r.__dict__}"
        for r in caplog.records
        if not r.name.startswith("mail.log")
    )
    for form in secret_forms():
        assert form not in stored
        assert form not in logged


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
async def test_starttls_required_with_auth(
    tmp_path, store, clock: ManualClock, server_tls, trust, caplog, mechanism
):
    caplog.set_level(logging.DEBUG)
    auth = Auth()
    other = {"LOGIN": ["PLAIN"], "PLAIN": ["LOGIN"]}[mechanism]
    for server in running(
        MailServer(
            free_port(),
            tls_context=server_tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=auth,
            auth_exclude_mechanism=other,
        )
    ):
        plan = smtp_plan(
            tmp_path, server.port, f"security: starttls, username: {USER}, password: {PASSWORD}"
        )
        svc = NotificationService(plan, store, clock)
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
        await svc.dispatcher.pass_once()
        [mail] = server.received()
        assert mail.rcpt_tos == ["alice@example.org"]
        assert auth.mechanisms == [mechanism]
        [row] = await rows(store, notify_outbox)
        assert row.status == "sent"
        assert repr(plan.notifications.smtp).count(PASSWORD) == 0  # not in the settings' repr
        await assert_secret_nowhere(store, caplog)


async def test_starttls_without_auth_needs_no_password(tmp_path, store, clock, server_tls, trust):
    for server in running(MailServer(free_port(), tls_context=server_tls, require_starttls=True)):
        svc = NotificationService(
            smtp_plan(tmp_path, server.port, "security: starttls"), store, clock
        )
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
        await svc.dispatcher.pass_once()
        assert len(server.received()) == 1


async def test_plain_client_is_refused_by_a_server_that_requires_starttls(
    tmp_path, store, clock, server_tls, trust
):
    """security: none against a STARTTLS-only server: nothing goes out in clear, visibly."""
    for server in running(MailServer(free_port(), tls_context=server_tls, require_starttls=True)):
        svc = NotificationService(smtp_plan(tmp_path, server.port, "security: none"), store, clock)
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
        await svc.dispatcher.pass_once()
        assert server.received() == []
        [row] = await rows(store, notify_outbox)
        assert row.attempts == 1 and "530" in row.last_error


async def test_wrong_password_fails_visibly_and_is_never_stored(
    tmp_path, store, clock, server_tls, trust, caplog
):
    caplog.set_level(logging.DEBUG)
    auth = Auth()
    for server in running(
        MailServer(
            free_port(),
            tls_context=server_tls,
            require_starttls=True,
            auth_required=True,
            authenticator=auth,
        )
    ):
        wrong = "not-the-" + PASSWORD
        plan = smtp_plan(
            tmp_path, server.port, f"security: starttls, username: {USER}, password: {wrong}"
        )
        svc = NotificationService(plan, store, clock)
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
        await svc.dispatcher.pass_once()
        assert server.received() == [] and auth.mechanisms  # it did try to log in
        [row] = await rows(store, notify_outbox)
        assert row.attempts == 1 and "535" in row.last_error
        [entry] = await rows(store, notify_log)
        assert entry.result in ("retry", "failed") and "535" in entry.detail
        await assert_secret_nowhere(store, caplog)
        stored = " ".join(repr(tuple(r)) for r in await rows(store, notify_outbox))
        logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
        assert wrong not in stored and wrong not in logged.replace("mail.log", "")


async def test_smtps_implicit_tls(tmp_path, store, clock, server_tls, trust):
    for server in running(MailServer(free_port(), ssl_context=server_tls)):
        svc = NotificationService(smtp_plan(tmp_path, server.port, "security: tls"), store, clock)
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"], "503")])
        await svc.dispatcher.pass_once()
        [mail] = server.received()
        assert mail.subject == "PROBLEM: www1/website is CRITICAL"
        [row] = await rows(store, notify_outbox)
        assert row.status == "sent"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_certificate_of_an_untrusted_ca_is_refused_and_retried(
    tmp_path, store, clock: ManualClock, ca, monkeypatch, security
):
    """The server's certificate comes from a CA the client does not trust: no mail goes out,
    the row stays pending with the error, the log says "retry"; once the client trusts the
    CA (an operator fixed the trust store) the same notification is delivered."""
    rogue = trustme.CA()  # the server's certificate comes from here
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    rogue.issue_cert("127.0.0.1").configure_cert(ctx)
    trusted = tmp_path / "trusted-ca.pem"
    ca.cert_pem.write_to_path(str(trusted))  # a different CA
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))
    options: dict[str, Any] = (
        {"ssl_context": ctx}
        if security == "tls"
        else {"tls_context": ctx, "require_starttls": True}
    )
    for server in running(MailServer(free_port(), **options)):
        plan = smtp_plan(tmp_path, server.port, f"security: {security}")
        svc = NotificationService(plan, store, clock)
        await svc.handle([note(clock.t, "www1", "website", "PROBLEM", 2, ["alice"])])
        await svc.dispatcher.pass_once()
        assert server.received() == []
        [row] = await rows(store, notify_outbox)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error or "certificate" in row.last_error
        [entry] = await rows(store, notify_log)
        assert entry.result == "retry"
        assert svc.stats.retries == 1

        # still untrusted at the retry: refused again, backoff doubles
        clock.t += 1.0
        await svc.dispatcher.pass_once()
        [row] = await rows(store, notify_outbox)
        assert (row.status, row.attempts) == ("pending", 2) and server.received() == []

        rogue.cert_pem.write_to_path(str(trusted))  # now trusted
        clock.t += 2.0
        await svc.dispatcher.pass_once()
        assert len(server.received()) == 1
        [row] = await rows(store, notify_outbox)
        assert row.status == "sent" and row.attempts == 3
