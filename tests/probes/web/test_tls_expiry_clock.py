"""Certificate expiry judged on the runner's clock: one real TLS server and one certificate, only
the fake clock moves, and the check crosses the warning and critical thresholds."""

from __future__ import annotations

from pathlib import Path

from fakeclock import FakeClock
from webtest_certs import Pki, write_chain
from webtest_servers import serve, server_context, tls_hello

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey
from augenmass.probes.base import CRITICAL, OK, WARNING
from augenmass.runner import Runner

DAY = 86400.0


async def test_expiry_crosses_warning_and_critical_as_the_fake_clock_moves(
    tmp_path: Path, pki: Pki
) -> None:
    leaf = pki.leaf(days=90)  # valid for real: OpenSSL verifies the chain on the real time
    not_after = leaf.cert.not_valid_after_utc.timestamp()
    cert, key = write_chain(tmp_path, "srv", leaf, pki.intermediate)
    clock = FakeClock(start_wall=not_after - 25 * DAY)
    runner = Runner([], clock=clock)  # makes its probes with this clock
    async with serve(tls_hello, ssl_ctx=server_context(str(cert), str(key))) as srv:
        options = {
            "host": "127.0.0.1",
            "port": srv.port,
            "server_name": "localhost",
            "ca_file": str(pki.root_file),
            "warning": "20:",
            "critical": "15:",
        }
        job = CheckJob(CheckKey("www1", "certificate"), CheckSpec("tls", options=options), {})

        first = await runner.run(job)
        assert first.status == OK, first.output
        assert "expires in 25.0 days" in first.output
        assert first.started_at == not_after - 25 * DAY  # the result is stamped by the clock too

        await clock.advance(7 * DAY)
        second = await runner.run(job)
        assert second.status == WARNING, second.output
        assert "expires in 18.0 days" in second.output

        await clock.advance(8 * DAY)
        third = await runner.run(job)
        assert third.status == CRITICAL, third.output
        assert "expires in 10.0 days" in third.output
        days = {p.label: p.value for p in third.perfdata}
        assert days["days_leaf"] == 10.0
