"""The runner with real monitoring-plugins binaries against servers the tests start."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from runner_helpers import job

from augenmass.runner import Runner


@pytest.mark.parametrize(
    ("code", "word"), [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")]
)
async def test_check_dummy_every_state(runner: Runner, code: int, word: str) -> None:
    result = await runner.run(
        job(["check_dummy", str(code), "hello $HOSTNAME$"], macros={"HOSTNAME": "web1"})
    )
    assert result.status == code
    assert result.output == f"{word}: hello web1"
    assert result.duration >= 0 and result.started_at > 0


async def test_check_dummy_bad_argument_is_unknown(runner: Runner) -> None:
    result = await runner.run(job(["check_dummy", "7"]))
    assert result.status == 3
    assert "7" in result.output


async def test_check_disk_on_root(runner: Runner) -> None:
    result = await runner.run(job(["check_disk", "-w", "0%", "-c", "0%", "-p", "/"]))
    assert result.status == 0, result.output
    assert result.output.startswith("DISK OK")
    assert [p.label for p in result.perfdata] == ["/"]
    assert result.perfdata[0].value is not None and result.perfdata[0].value > 0


async def test_check_load_perfdata(runner: Runner) -> None:
    result = await runner.run(job(["check_load", "-w", "999,999,999", "-c", "999,999,999"]))
    assert result.status == 0, result.output
    assert [p.label for p in result.perfdata] == ["load1", "load5", "load15"]
    assert result.notes == ()


@pytest.fixture
async def tcp_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_check_tcp_open_and_closed(runner: Runner, tcp_port: int) -> None:
    spec = ["check_tcp", "-H", "$HOSTADDRESS$", "-p", "$ARG1$"]
    macros = {"HOSTADDRESS": "127.0.0.1", "ARG1": str(tcp_port)}
    up = await runner.run(job(spec, macros=macros))
    down = await runner.run(job(spec, macros={**macros, "ARG1": str(free_port())}))
    assert up.status == 0, up.output
    assert [p.label for p in up.perfdata] == ["time"]
    assert down.status == 2, down.output
    assert "refused" in down.output.lower()


@pytest.fixture
async def http_port() -> AsyncIterator[int]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="fine")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)
    app_runner = web.AppRunner(app, access_log=None)
    await app_runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(app_runner, sock).start()
    yield int(sock.getsockname()[1])
    await app_runner.cleanup()


@pytest.mark.parametrize(("path", "status"), [("/ok", 0), ("/broken", 2)])
async def test_check_http_against_local_server(
    runner: Runner, http_port: int, path: str, status: int
) -> None:
    result = await runner.run(
        job(["check_http", "-H", "127.0.0.1", "-p", str(http_port), "-u", path, "-t", "5"])
    )
    assert result.status == status, result.output
    assert {"time", "size"} <= {p.label for p in result.perfdata}
