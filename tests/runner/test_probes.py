"""Built-in probes through the runner: registry, deadline, exceptions, dummy and tcp."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import pytest
from runner_helpers import job

import augenmass.probes as probes
from augenmass.core.values import CheckKey
from augenmass.probes.base import ProbeOutcome
from augenmass.runner import Runner


class BoomProbe:
    type = "boom"
    defaults: ClassVar[Mapping[str, Any]] = {"where": "$HOSTNAME$"}
    seen: ClassVar[list[Mapping[str, Any]]] = []

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        self.seen.append(options)
        if options.get("mode") == "hang":
            await asyncio.sleep(60)  # ignores its budget: the runner's hard stop must end it
        if options.get("mode") == "bad-status":
            return ProbeOutcome(7, "seven")
        raise RuntimeError(f"exploded at {options['where']}")


@pytest.fixture
def boom() -> Iterator[None]:
    probes._loaded["boom"] = BoomProbe()
    probes.PROBES["boom"] = "never:imported"
    BoomProbe.seen.clear()
    yield
    del probes._loaded["boom"], probes.PROBES["boom"]


async def test_dummy_probe(runner: Runner) -> None:
    result = await runner.run(
        job(
            type="dummy",
            options={"state": "warning", "output": "on $HOSTNAME$", "perfdata": "a=1 b=x"},
            macros={"HOSTNAME": "web1"},
        )
    )
    assert (result.status, result.output) == (1, "on web1")
    assert [p.label for p in result.perfdata] == ["a"]
    assert len(result.notes) == 1 and "'b=x'" in result.notes[0]


async def test_dummy_bad_state_is_unknown(runner: Runner) -> None:
    result = await runner.run(job(type="dummy", options={"state": 9}))
    assert result.status == 3
    assert result.output.startswith("bad check options: state must be 0..3")


async def test_unknown_check_type(runner: Runner) -> None:
    result = await runner.run(job(type="carrier-pigeon"))
    assert result.status == 3
    assert "unknown check type 'carrier-pigeon'" in result.output


async def test_probe_exception_becomes_unknown(runner: Runner, boom: None) -> None:
    result = await runner.run(job(type="boom", macros={"HOSTNAME": "web1"}))
    assert result.status == 3
    assert result.output == "internal error: RuntimeError: exploded at web1"
    assert BoomProbe.seen == [{"where": "web1"}]  # defaults are macro-expanded too


async def test_probe_past_its_deadline_gets_timeout_state(runner: Runner, boom: None) -> None:
    result = await runner.run(
        job(type="boom", options={"mode": "hang"}, timeout=0.1, timeout_state=2)
    )
    assert (result.status, result.output) == (2, "timed out after 0.1 s")


async def test_probe_invalid_status_is_unknown(runner: Runner, boom: None) -> None:
    result = await runner.run(
        job(type="boom", options={"mode": "bad-status"}, macros={"HOSTNAME": "h"})
    )
    assert (result.status, result.output) == (3, "seven")
    assert result.notes == ("probe returned invalid status 7",)


async def test_probe_output_is_sanitized(runner: Runner) -> None:
    result = await runner.run(
        job(type="dummy", options={"output": "\x1b[2Jbanner\x00!"}, key=CheckKey("h"))
    )
    assert result.output == "banner!"
    empty = await runner.run(job(type="dummy", key=CheckKey("h")))
    assert empty.output == "(No output returned from host check)"


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_tcp_ok_with_perfdata(runner: Runner, listener: int) -> None:
    result = await runner.run(
        job(type="tcp", options={"port": listener}, macros={"HOSTADDRESS": "127.0.0.1"}, timeout=3)
    )
    assert result.status == 0, result.output
    assert result.output.startswith("TCP OK - ")
    assert result.output.endswith(f"second response time on 127.0.0.1 port {listener}")
    (time_,) = result.perfdata
    assert (time_.label, time_.uom, time_.min, time_.max) == ("time", "s", 0.0, 3.0)
    assert time_.value is not None and 0 < time_.value < 3


async def test_tcp_thresholds(runner: Runner, listener: int) -> None:
    options = {"host": "127.0.0.1", "port": str(listener)}
    crit = await runner.run(job(type="tcp", options={**options, "critical": "0.000000001"}))
    warn = await runner.run(
        job(type="tcp", options={**options, "warning": "0.000000001", "critical": "60"})
    )
    fine = await runner.run(job(type="tcp", options={**options, "warning": "30", "critical": "60"}))
    assert crit.status == 2 and crit.output.startswith("TCP CRITICAL - ")
    assert warn.status == 1 and warn.output.startswith("TCP WARNING - ")
    assert fine.status == 0
    assert (fine.perfdata[0].warn, fine.perfdata[0].crit) == ("30", "60")


async def test_tcp_refused(runner: Runner) -> None:
    port = closed_port()
    result = await runner.run(job(type="tcp", options={"host": "127.0.0.1", "port": port}))
    assert (result.status, result.output) == (
        2,
        f"TCP CRITICAL - Connection refused on 127.0.0.1 port {port}",
    )


async def test_tcp_ipv6_loopback(runner: Runner) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    server = await asyncio.start_server(lambda r, w: w.close(), "::1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await runner.run(job(type="tcp", options={"host": "::1", "port": port}))
    finally:
        server.close()
        await server.wait_closed()
    assert result.status == 0, result.output


async def test_tcp_timeout_when_backlog_is_full(runner: Runner) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue; further SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        result = await runner.run(
            job(type="tcp", options={"host": "127.0.0.1", "port": port, "timeout": 0.3})
        )
    finally:
        for filler in fillers:
            filler.close()
        server.close()
    assert (result.status, result.output) == (
        2,
        f"TCP CRITICAL - timed out after 0.3 s on 127.0.0.1 port {port}",
    )


async def test_tcp_dns_failure_is_critical(runner: Runner) -> None:
    result = await runner.run(
        job(type="tcp", options={"host": "no-such-host.invalid", "port": 80, "timeout": 2})
    )
    assert result.status == 2
    assert "cannot resolve no-such-host.invalid" in result.output or "timed out" in result.output


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"host": "127.0.0.1"}, "port must be a number"),
        ({"host": "127.0.0.1", "port": 70000}, "port must be a number"),
        ({"host": "127.0.0.1", "port": True}, "port must be a number"),
        ({"port": 80}, "no host"),
        ({"host": "127.0.0.1", "port": 80, "warning": "abc"}, "Range format incorrect"),
        ({"host": "127.0.0.1", "port": 80, "timeout": "soon"}, "timeout must be a number"),
    ],
)
async def test_tcp_bad_options(runner: Runner, options: dict[str, Any], text: str) -> None:
    result = await runner.run(job(type="tcp", options=options))
    assert result.status == 3
    assert result.output.startswith("bad check options: tcp: ")
    assert text in result.output


async def test_tcp_leaks_no_file_descriptors(runner: Runner, listener: int) -> None:
    refused = closed_port()
    for port in (listener, refused):  # warm up lazy imports and loop internals
        await runner.run(job(type="tcp", options={"host": "127.0.0.1", "port": port}))
    before = open_fds()
    for _ in range(50):
        for port in (listener, refused):
            await runner.run(job(type="tcp", options={"host": "127.0.0.1", "port": port}))
    assert open_fds() == before
