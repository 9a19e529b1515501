"""The `smtp`, `imap` and `pop3` probes against aiosmtpd and tiny responders on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from net_helpers import SMTP_PASSWORD, SMTP_USER, TcpFactory, job, plugin_state
from net_servers import imap_answer, line_server, pop3_answer

from augenmass.runner import Runner

SmtpFactory = Callable[..., Awaitable[int]]
IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1] Dovecot ready, admin alice-sentinel@example.org\r\n"
POP_GREETING = b"+OK POP3 ready <1234.5678@pop.example.test>\r\n"
PASSWORD = "hunter2-Sentinel"


def everything(result: Any) -> str:
    return repr(result)


async def test_smtp_plain_through_the_runner(runner: Runner, smtp_server: SmtpFactory) -> None:
    port = await smtp_server(starttls=False)
    result = await runner.run(job("smtp", {"port": port}, timeout=3))
    assert result.status == 0, result.output
    assert result.output.startswith("SMTP OK - ")
    assert (
        f"response time on 127.0.0.1 port {port}, greeting 220 mail.example.test" in result.output
    )
    assert "postmaster <redacted>" in result.output
    assert "alice-sentinel" not in everything(result)
    assert "capabilities: " in result.long_output and "AUTH" in result.long_output
    assert result.perfdata[0].label == "time" and result.perfdata[0].max == 3.0


async def test_smtp_starttls_and_login(
    runner: Runner, smtp_server: SmtpFactory, ca_file: str
) -> None:
    port = await smtp_server()
    options = {
        "port": port,
        "tls": "starttls",
        "ca_file": ca_file,
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
    }
    result = await runner.run(job("smtp", options))
    assert result.status == 0, result.output
    assert result.output.endswith("STARTTLS ok, login ok")
    assert SMTP_PASSWORD not in everything(result)


async def test_smtp_bad_login_keeps_the_password_secret(
    runner: Runner, smtp_server: SmtpFactory
) -> None:
    port = await smtp_server(starttls=False)
    options = {"port": port, "user": SMTP_USER, "password": "wrong-" + SMTP_PASSWORD}
    result = await runner.run(job("smtp", options))
    assert result.status == 2
    assert result.output.startswith("SMTP CRITICAL - login failed: 535")
    assert SMTP_PASSWORD not in everything(result)


async def test_smtp_auth_login(runner: Runner, smtp_server: SmtpFactory) -> None:
    port = await smtp_server(starttls=False, exclude=("PLAIN",))
    good = {"port": port, "user": SMTP_USER, "password": SMTP_PASSWORD}
    result = await runner.run(job("smtp", good))
    bad = await runner.run(job("smtp", {**good, "password": "Other-Sentinel"}))
    assert result.status == 0, result.output
    assert "AUTH LOGIN" in result.long_output and "PLAIN" not in result.long_output
    assert bad.status == 2 and "login failed: 535" in bad.output
    assert "Other-Sentinel" not in everything(bad)


async def test_smtp_untrusted_certificate(runner: Runner, smtp_server: SmtpFactory) -> None:
    port = await smtp_server()
    bad = await runner.run(job("smtp", {"port": port, "tls": "starttls"}))
    unchecked = await runner.run(job("smtp", {"port": port, "tls": "starttls", "verify": False}))
    assert bad.status == 2
    assert "certificate not accepted" in bad.output
    assert unchecked.status == 0, unchecked.output


async def test_smtp_starttls_not_offered(runner: Runner, smtp_server: SmtpFactory) -> None:
    port = await smtp_server(starttls=False)
    result = await runner.run(job("smtp", {"port": port, "tls": "starttls"}))
    assert result.status == 1  # as check_smtp -S: the service works, the protection is missing
    assert result.output == f"SMTP WARNING - STARTTLS not offered on 127.0.0.1 port {port}"


async def test_smtp_implicit_tls(runner: Runner, smtp_server: SmtpFactory, ca_file: str) -> None:
    port = await smtp_server(implicit=True)
    result = await runner.run(job("smtp", {"port": port, "tls": "implicit", "ca_file": ca_file}))
    assert result.status == 0, result.output
    plain = await runner.run(job("smtp", {"port": port}, timeout=1))
    assert plain.status == 2  # a TLS port spoken to in plain text never greets


async def test_smtp_refused_greeting_and_garbage(runner: Runner, tcp_server: TcpFactory) -> None:
    busy = await tcp_server(
        line_server(b"554 no service for alice-sentinel@example.org\r\n", _quit)
    )
    junk = await tcp_server(line_server(b"hello there\r\n", _quit))
    early = await tcp_server(line_server(None, lambda line: None))
    results = [await runner.run(job("smtp", {"port": p}, timeout=1)) for p in (busy, junk, early)]
    assert [r.status for r in results] == [1, 2, 2]  # a refusing greeting: WARNING, as plugins
    assert results[0].output.startswith("SMTP WARNING - server greeted with 554 no service for")
    assert "alice-sentinel" not in results[0].output
    assert "unexpected reply while waiting for the greeting" in results[1].output
    assert "timed out after 1 s" in results[2].output  # silent, then closed by our deadline


async def test_smtp_peer_closes_early(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(b"220 hi\r\n", lambda line: None))
    result = await runner.run(job("smtp", {"port": port}))
    assert result.status == 2
    assert "connection closed by the server while waiting for the EHLO answer" in result.output


async def test_smtp_starttls_refused(runner: Runner, tcp_server: TcpFactory) -> None:
    def answer(line: str) -> list[bytes] | None:
        if line.startswith("EHLO"):
            return [b"250-mx.example.test\r\n", b"250 STARTTLS\r\n"]
        if line == "STARTTLS":
            return [b"454 TLS not available due to temporary reason\r\n"]
        return None

    port = await tcp_server(line_server(b"220 mx.example.test ESMTP\r\n", answer))
    result = await runner.run(job("smtp", {"port": port, "tls": "starttls"}))
    assert result.status == 2
    assert "STARTTLS refused: 454 TLS not available" in result.output


async def test_smtp_plain_text_after_the_starttls_answer_is_refused(
    runner: Runner, tcp_server: TcpFactory
) -> None:
    """A man in the middle appends plain-text answers to "220 go ahead": after the handshake
    they would be read as the server's (CVE-2011-0411). The probe hangs up instead."""

    def answer(line: str) -> list[bytes] | None:
        if line.startswith("EHLO"):
            return [b"250-mx.example.test\r\n250 STARTTLS\r\n"]
        if line == "STARTTLS":
            return [b"220 go ahead\r\n250-mx.example.test\r\n250 AUTH PLAIN\r\n"]
        return None

    port = await tcp_server(line_server(b"220 mx.example.test ESMTP\r\n", answer))
    result = await runner.run(job("smtp", {"port": port, "tls": "starttls"}))
    assert result.status == 2, result.output
    assert "sent more after its STARTTLS answer" in result.output


def _quit(line: str) -> list[bytes] | None:
    return [b"221 bye\r\n"] if line == "QUIT" else [b"250 ok\r\n"]


async def test_smtp_thresholds(runner: Runner, smtp_server: SmtpFactory) -> None:
    port = await smtp_server(starttls=False)
    crit = await runner.run(job("smtp", {"port": port, "critical": "0.000000001"}))
    warn = await runner.run(job("smtp", {"port": port, "warning": "0.000000001", "critical": "9"}))
    assert (crit.status, warn.status) == (2, 1)
    assert crit.output.startswith("SMTP CRITICAL - ")


async def test_imap_login_and_capabilities(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD)))
    options = {"port": port, "user": "alice-sentinel@example.org", "password": PASSWORD}
    result = await runner.run(job("imap", options))
    assert result.status == 0, result.output
    assert result.output.endswith("login ok")
    assert "IMAP4REV1" in result.long_output
    assert "alice-sentinel" not in everything(result) and PASSWORD not in everything(result)


async def test_imap_bad_login_echoed_by_the_server_stays_secret(
    runner: Runner, tcp_server: TcpFactory
) -> None:
    port = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD)))
    options = {"port": port, "user": "alice-sentinel@example.org", "password": "Wrong-Sentinel"}
    result = await runner.run(job("imap", options))
    assert result.status == 2
    assert result.output.startswith("IMAP CRITICAL - login failed: NO [AUTHENTICATIONFAILED]")
    assert "Wrong-Sentinel" not in everything(result)
    assert "alice-sentinel" not in everything(result)


async def test_imap_starttls_refused_and_not_offered(
    runner: Runner, tcp_server: TcpFactory
) -> None:
    offered = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD, starttls=True)))
    missing = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD)))
    refused = await runner.run(job("imap", {"port": offered, "tls": "starttls"}))
    absent = await runner.run(job("imap", {"port": missing, "tls": "starttls"}))
    assert refused.status == 2 and "STARTTLS refused: NO STARTTLS is switched off" in refused.output
    assert absent.status == 1 and "STARTTLS not offered" in absent.output


async def test_imap_implicit_tls_and_bye(
    runner: Runner, tcp_server: TcpFactory, server_tls: ssl.SSLContext, ca_file: str
) -> None:
    port = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD)), server_tls)
    ok = await runner.run(job("imap", {"port": port, "tls": "implicit", "ca_file": ca_file}))
    assert ok.status == 0, ok.output
    bye = await tcp_server(line_server(b"* BYE overloaded\r\n", imap_answer(PASSWORD)))
    result = await runner.run(job("imap", {"port": bye}))
    assert result.status == 1 and "server greeted with * BYE overloaded" in result.output
    strict = await runner.run(job("imap", {"port": bye, "mismatch_state": "critical"}))
    assert strict.status == 2


async def test_pop3_login(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(POP_GREETING, pop3_answer(PASSWORD)))
    good = await runner.run(job("pop3", {"port": port, "user": "u", "password": PASSWORD}))
    bad = await runner.run(job("pop3", {"port": port, "user": "u", "password": "Nope-Sentinel"}))
    assert good.status == 0, good.output
    assert "<redacted>" in good.output and "1234.5678@" not in good.output
    assert bad.status == 2 and bad.output.startswith("POP3 CRITICAL - login failed: -ERR [AUTH]")
    assert "Nope-Sentinel" not in everything(bad) and "alice-sentinel" not in everything(bad)


async def test_pop3_stls_not_offered_and_garbage(runner: Runner, tcp_server: TcpFactory) -> None:
    port = await tcp_server(line_server(POP_GREETING, pop3_answer(PASSWORD)))
    junk = await tcp_server(line_server(b"* OK this is imap\r\n", pop3_answer(PASSWORD)))
    no_tls = await runner.run(job("pop3", {"port": port, "tls": "starttls"}))
    wrong = await runner.run(job("pop3", {"port": junk}))
    assert no_tls.status == 1 and "STARTTLS (STLS) not offered" in no_tls.output
    assert wrong.status == 1 and "server greeted with * OK this is imap" in wrong.output


@pytest.mark.parametrize(
    ("kind", "options", "text"),
    [
        ("smtp", {"port": 25, "tls": "sometimes"}, "tls must be none, starttls or implicit"),
        ("smtp", {"port": 25, "user": "u"}, "set both user and password"),
        ("imap", {"port": 70000}, "port must be a number"),
        ("pop3", {"port": 110, "warning": "x"}, "Range format incorrect"),
        ("smtp", {"port": 25, "tls": "starttls", "ca_file": "/nonexistent"}, "cannot read ca_file"),
    ],
)
async def test_bad_options(runner: Runner, kind: str, options: dict[str, Any], text: str) -> None:
    result = await runner.run(job(kind, {**options, "host": "127.0.0.1"}))
    assert result.status == 3
    assert result.output.startswith(f"bad check options: {kind}: "), result.output
    assert text in result.output


async def test_password_never_in_option_errors(runner: Runner) -> None:
    result = await runner.run(job("smtp", {"port": 25, "password": "Pw-Sentinel"}))
    assert result.status == 3 and "Pw-Sentinel" not in everything(result)


@pytest.mark.slow
async def test_same_state_as_check_smtp(runner: Runner, smtp_server: SmtpFactory) -> None:
    plain = await smtp_server(starttls=False)
    tls = await smtp_server()
    for port, extra, ours_options in (
        (plain, [], {}),
        (plain, ["-S"], {"tls": "starttls", "verify": False}),  # not offered
        (tls, ["-S"], {"tls": "starttls", "verify": False}),
        (plain, ["-c", "0.000001"], {"critical": "0.000001"}),
    ):
        ours = await runner.run(job("smtp", {"port": port, **ours_options}))
        code, line = await plugin_state("check_smtp", "-H", "127.0.0.1", "-p", str(port), *extra)
        assert ours.status == code, (extra, ours.output, line)


@pytest.mark.slow
async def test_same_state_as_check_imap_and_check_pop(
    runner: Runner, tcp_server: TcpFactory
) -> None:
    imap = await tcp_server(line_server(IMAP_GREETING, imap_answer(PASSWORD)))
    pop = await tcp_server(line_server(POP_GREETING, pop3_answer(PASSWORD)))
    bye = await tcp_server(line_server(b"-ERR go away\r\n", pop3_answer(PASSWORD)))
    for kind, plugin, port in (
        ("imap", "check_imap", imap),
        ("pop3", "check_pop", pop),
        ("pop3", "check_pop", bye),
    ):
        ours = await runner.run(job(kind, {"port": port}))
        code, line = await plugin_state(plugin, "-H", "127.0.0.1", "-p", str(port), "-t", "3")
        assert ours.status == code, (plugin, ours.output, line)
        await asyncio.sleep(0)
