"""`tls://` to NATS: a nats-server that requires TLS with a certificate from a test CA. Server
and workers trust it the way a deployment does, through the system trust store
(`SSL_CERT_FILE`), and jobs flow; a worker that does not trust the certificate never connects
and says why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from natsserver import NatsServer, nats_missing

from augenmass.core.values import CheckKey

from .helpers import (
    dispatch,
    dummy_job,
    prefix,
    ready,
    remote_result,
    start_worker,
    stop,
    worker_until_unreachable,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_nats(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[NatsServer]:
    reason = nats_missing()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("nats-tls")
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    config = (
        f'tls {{\n  cert_file: "{directory / "cert.pem"}"\n'
        f'  key_file: "{directory / "key.pem"}"\n  timeout: 5\n}}\n'
    )
    server = NatsServer(directory, config).start()
    try:
        yield server
    finally:
        server.stop()


def tls_url(server: NatsServer) -> str:
    return f"tls://127.0.0.1:{server.port}"


async def test_jobs_flow_over_tls_with_the_ca_in_the_trust_store(
    tls_nats: NatsServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    pfx = prefix()
    d = dispatch(tls_url(tls_nats), pfx)
    await d.start()
    w = start_worker(tls_url(tls_nats), pfx, name="tls-worker")
    try:
        await ready(d)
        result = await remote_result(d, dummy_job(output="over TLS"))
        assert (result.key, result.output, result.source) == (
            CheckKey("h", "s"),
            "over TLS",
            "worker:tls-worker",
        )
    finally:
        await stop(w)
        await d.stop()


def test_a_worker_that_does_not_trust_the_certificate_never_connects(
    tls_nats: NatsServer, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))  # a CA that did not sign the certificate
    env = {**os.environ, "SSL_CERT_FILE": str(other)}
    text = worker_until_unreachable(["--nats", tls_url(tls_nats)], tmp_path / "worker.log", env)
    assert "SSLCertVerificationError" in text, text  # says why: not a refused port
