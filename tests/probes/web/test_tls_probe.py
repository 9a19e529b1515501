"""The `tls` certificate probe against real TLS servers with certificates made in the test."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from webtest_certs import Issued, Pki, issue, write_chain
from webtest_servers import serve, server_context, silent, starttls_app, tls_hello

from augenmass.probes.base import CRITICAL, OK, WARNING, ProbeOutcome
from augenmass.probes.tls import TlsProbe
from augenmass.probes.tls import _weakness as tls_weakness


async def tls_check(folder: Path, leaf: Issued, *chain: Issued, **options: Any) -> ProbeOutcome:
    cert, key = write_chain(folder, "srv", leaf, *chain)
    async with serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as srv:
        opts = {"host": "127.0.0.1", "port": srv.port, "server_name": "localhost", **options}
        return await TlsProbe().run(opts, 5.0)


def perf(outcome: ProbeOutcome) -> dict[str, float | None]:
    return {p.label: p.value for p in outcome.perfdata}


async def test_valid_chain_reports_days_issuer_and_serial(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf(days=90)
    got = await tls_check(tmp_path, leaf, pki.intermediate, ca_file=str(pki.root_file))
    assert got.status == OK, got.output
    assert "certificate expires in 89.9 days" in got.output or "expires in 90.0" in got.output
    assert "issuer CN=augenmass test intermediate" in got.long_output
    assert f"serial {leaf.cert.serial_number:X}" in got.long_output
    assert 89 < (perf(got)["days_leaf"] or 0) <= 90


async def test_expiring_in_five_days(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf(days=5)
    ca = str(pki.root_file)
    got = await tls_check(tmp_path, leaf, pki.intermediate, ca_file=ca)
    assert got.status == CRITICAL and "expires in 5.0 days" in got.output  # default 20:/15:
    warn = await tls_check(tmp_path, leaf, pki.intermediate, ca_file=ca, critical="3:")
    assert warn.status == WARNING


async def test_expired_is_critical_with_openssl_reason(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf(days=-2, not_before_days=-30)
    got = await tls_check(tmp_path, leaf, pki.intermediate, ca_file=str(pki.root_file))
    assert got.status == CRITICAL
    assert "certificate has expired" in got.output and "expired 2.0 days ago" in got.output


async def test_wrong_host_name(tmp_path: Path, pki: Pki) -> None:
    leaf = pki.leaf("www.example.org")
    got = await tls_check(tmp_path, leaf, pki.intermediate, ca_file=str(pki.root_file))
    assert got.status == CRITICAL and "mismatch" in got.output.lower(), got.output
    unchecked = await tls_check(
        tmp_path, leaf, pki.intermediate, ca_file=str(pki.root_file), verify=False
    )
    assert unchecked.status == OK


async def test_self_signed_and_unknown_ca(tmp_path: Path, pki: Pki) -> None:
    own = issue("localhost", days=365)
    got = await tls_check(tmp_path, own)
    assert got.status == CRITICAL and "self-signed" in got.output, got.output
    untrusted = await tls_check(tmp_path, pki.leaf(), pki.intermediate)  # system CAs only
    assert untrusted.status == CRITICAL and "not valid" in untrusted.output


async def test_intermediate_expiring_before_the_leaf(tmp_path: Path) -> None:
    root = issue("root", ca=True, days=3650)
    inter = issue("short-lived intermediate", issuer=root, ca=True, days=10)
    leaf = issue("localhost", issuer=inter, days=60)
    root_file = tmp_path / "root.pem"
    root_file.write_bytes(root.pem())
    got = await tls_check(tmp_path, leaf, inter, ca_file=str(root_file))
    assert got.status == CRITICAL
    assert "chain (CN=short-lived intermediate) expires in 10.0 days" in got.output
    assert 59 < (perf(got)["days_leaf"] or 0) <= 60
    leaf_only = await tls_check(tmp_path, leaf, inter, ca_file=str(root_file), chain=False)
    assert leaf_only.status == OK


async def test_weak_key_and_sha1_signature(tmp_path: Path, pki: Pki) -> None:
    small = pki.leaf(key="rsa1024")
    got = await tls_check(tmp_path, small, pki.intermediate, verify=False)
    assert got.status == CRITICAL and "1024-bit RSA key" in got.output


def test_dsa_key_is_weak_and_named_without_a_deprecation_warning(pki: Pki) -> None:
    # cryptography 51 deprecates DSA and warns when a DSA key is loaded; the probe must not
    # (warnings are errors in this suite), and a DSA certificate is weak at any size.
    dsa_leaf = pki.leaf(key="dsa2048")
    modern = pki.leaf(key="ed25519")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tls_weakness(dsa_leaf.cert) == "DSA key"
        assert tls_weakness(modern.cert) is None
        assert tls_weakness(pki.leaf(key="rsa2048").cert) is None


async def test_sha1_signature(tmp_path: Path, pki: Pki) -> None:
    # cryptography refuses to sign with SHA-1, so the openssl command signs this one
    if shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the openssl command is missing under CI (Debian package openssl)")
        pytest.skip("no openssl command")
    leaf = pki.leaf()
    (tmp_path / "i.key").write_bytes(pki.intermediate.key_pem())
    (tmp_path / "i.pem").write_bytes(pki.intermediate.pem())
    (tmp_path / "l.key").write_bytes(leaf.key_pem())
    run = functools.partial(subprocess.run, check=True, capture_output=True, cwd=tmp_path)
    run(["openssl", "req", "-new", "-key", "l.key", "-subj", "/CN=localhost", "-out", "l.csr"])
    run(
        ["openssl", "x509", "-req", "-in", "l.csr", "-CA", "i.pem", "-CAkey", "i.key"]
        + ["-CAcreateserial", "-days", "30", "-sha1", "-out", "l.pem"]
    )
    sha1 = Issued(x509.load_pem_x509_certificate((tmp_path / "l.pem").read_bytes()), leaf.key)
    got = await tls_check(tmp_path, sha1, pki.intermediate, verify=False)
    assert got.status == CRITICAL and "SHA1 signature" in got.output, got.output


async def test_handshake_that_stalls_times_out() -> None:
    async with serve(silent) as quiet:
        got = await TlsProbe().run({"host": "127.0.0.1", "port": quiet.port}, 0.5)
    assert got.status == CRITICAL and "timed out after 0.5 s" in got.output


async def test_plain_server_is_a_handshake_failure() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await reader.read(100)

    async with serve(plain) as srv:
        got = await TlsProbe().run({"host": "127.0.0.1", "port": srv.port}, 2.0)
    assert got.status == CRITICAL and "TLS handshake failed" in got.output, got.output


async def _starttls_check(tmp_path: Path, pki: Pki, proto: str, injected: bytes = b"") -> Any:
    """The tls probe over STARTTLS against a mail server whose certificate has 40 days left."""
    cert, key = write_chain(tmp_path, "mail", pki.leaf(days=40), pki.intermediate)
    ctx = server_context(str(cert), str(key))
    async with serve(starttls_app(proto, ctx, injected=injected)) as srv:
        opts = {
            "host": "127.0.0.1",
            "port": srv.port,
            "server_name": "localhost",
            "starttls": proto,
            "ca_file": str(pki.root_file),
        }
        return await TlsProbe().run(opts, 5.0)


@pytest.mark.parametrize("proto", ["smtp", "imap", "pop3"])
async def test_starttls(tmp_path: Path, pki: Pki, proto: str) -> None:
    got = await _starttls_check(tmp_path, pki, proto)
    assert got.status == OK, got.output
    assert "expires in 39.9 days" in got.output or "expires in 40.0 days" in got.output


@pytest.mark.parametrize(
    "proto, injected",
    [("smtp", b"250 AUTH PLAIN\r\n"), ("imap", b"a2 OK LOGIN done\r\n"), ("pop3", b"+OK\r\n")],
)
async def test_plain_text_after_the_starttls_answer_is_refused(
    tmp_path: Path, pki: Pki, proto: str, injected: bytes
) -> None:
    """Bytes in the same read as the "go ahead" answer would be read as if they came over TLS
    (STARTTLS command injection): the probe hangs up with that reason, on either loop."""
    got = await _starttls_check(tmp_path, pki, proto, injected)
    assert got.status == CRITICAL, got.output
    assert "sent more after its STARTTLS answer" in got.output


async def test_smtp_without_starttls_offer(tmp_path: Path, pki: Pki) -> None:
    cert, key = write_chain(tmp_path, "mail", pki.leaf(), pki.intermediate)
    ctx = server_context(str(cert), str(key))
    async with serve(starttls_app("smtp", ctx, offer=False)) as srv:
        opts = {"host": "127.0.0.1", "port": srv.port, "starttls": "smtp"}
        got = await TlsProbe().run(opts, 5.0)
    assert got.status == CRITICAL and "does not offer STARTTLS" in got.output


def test_under_uvloop_as_in_the_server(tmp_path: Path, pki: Pki) -> None:
    """The server runs on uvloop, whose TLS layer differs from asyncio's: a plain-text answer
    to the ClientHello once waited there until the timeout instead of failing the handshake."""
    import uvloop

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await reader.read(100)

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def scenario() -> None:
        ca = str(pki.root_file)
        ok = await tls_check(tmp_path, pki.leaf(days=90), pki.intermediate, ca_file=ca)
        assert ok.status == OK and 89 < (perf(ok)["days_leaf"] or 0) <= 90, ok.output
        fds = open_fds()  # after the first check: the loop opens some files once
        expired = pki.leaf(days=-2, not_before_days=-30)
        bad = await tls_check(tmp_path, expired, pki.intermediate, ca_file=ca)
        assert bad.status == CRITICAL and "certificate has expired" in bad.output
        async with serve(plain) as srv:
            got = await TlsProbe().run({"host": "127.0.0.1", "port": srv.port}, 2.0)
        assert got.status == CRITICAL and "TLS handshake failed" in got.output, got.output
        async with serve(silent) as quiet:
            stalled = await TlsProbe().run({"host": "127.0.0.1", "port": quiet.port}, 0.3)
        assert stalled.status == CRITICAL and "timed out after 0.3 s" in stalled.output
        await asyncio.sleep(0.1)  # let aborted transports finish closing
        assert open_fds() <= fds

    uvloop.run(scenario())
