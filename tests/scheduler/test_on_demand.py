"""docs/semantics.md §5: parents are checked when a child fails, and what sits behind a host
is checked again when it comes back. A real Server; the checks are real TCP connects to
listeners on 127.0.0.1 that the test opens and closes (router, printer, the printer's SNMP
stand-in). Every interval is an hour, so only the on-demand checks can explain what
happens within seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from augenmass.core.values import CheckKey, CheckState, StateType
from augenmass.server.server import Server

ROUTER, PRINTER = CheckKey("router"), CheckKey("printer")
TONER = CheckKey("printer", "toner")
HOUR = 3600.0


class Port:
    """A TCP listener on 127.0.0.1 that can be closed and opened again on the same port."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def open(self) -> None:
        async def answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        self.server = await asyncio.start_server(answer, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


CONFIG = """
settings: {{max_check_spread: 100ms}}
hosts:
  router:
    address: 127.0.0.1
    check_interval: 1h
    max_check_attempts: 1
    check: {{type: tcp, port: {router}, timeout: 2s}}
  printer:
    address: 127.0.0.1
    parents: [router]
    check_interval: 1h
    max_check_attempts: 2
    retry_interval: 1h
    check: {{type: tcp, port: {printer}, timeout: 2s}}
services:
  - name: toner
    host: printer
    check_interval: 1h
    max_check_attempts: 3
    retry_interval: 1h
    check: {{type: tcp, port: {toner}, timeout: 2s}}
"""


async def wait_for(what: str, pred: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[tuple[Server, dict[str, Port]]]:
    ports = {name: Port() for name in ("router", "printer", "toner")}
    for port in ports.values():
        await port.open()
    config = tmp_path / "augenmass.yaml"
    config.write_text(CONFIG.format(**{n: p.port for n, p in ports.items()}))
    server = Server(config, tmp_path / "data")
    await server.start()
    try:
        yield server, ports
    finally:
        await server.stop()
        for port in ports.values():
            await port.close()


def st(server: Server, key: CheckKey) -> CheckState:
    return server.engine.state(key)


async def test_a_failing_service_has_its_host_and_the_router_checked_before_its_verdict(
    office: tuple[Server, dict[str, Port]],
) -> None:
    server, ports = office
    await wait_for(
        "first results", lambda: all(st(server, k).checked for k in (ROUTER, PRINTER, TONER))
    )
    assert st(server, PRINTER).state == 0 and st(server, TONER).state == 0
    first_router_check = st(server, ROUTER).last_check
    for port in ports.values():
        await port.close()
    server.scheduler.check_now(TONER)  # the toner's turn comes; nothing else is due for an hour
    await wait_for("the toner's verdict", lambda: st(server, TONER).state != 0)
    # by the time the toner is judged, the printer and the router have answered
    router, printer, toner = st(server, ROUTER), st(server, PRINTER), st(server, TONER)
    assert router.last_check > first_router_check
    assert (router.state, router.state_type) == (1, StateType.HARD)  # DOWN
    assert printer.state == 2  # UNREACHABLE, not DOWN: its parent is down
    assert toner.host_problem_at_last_check

    # the router comes back (its own check, asked for by hand here): the printer and then the
    # toner are checked at once, though their next checks are an hour away
    for port in ports.values():
        await port.open()
    server.scheduler.check_now(ROUTER)
    await wait_for(
        "printer and toner re-checked after the router came back",
        lambda: st(server, PRINTER).state == 0 and st(server, TONER).state == 0,
        timeout=15.0,
    )
    nxt = server.scheduler.next_check(TONER)
    assert nxt is not None and nxt > time.time() + HOUR / 2  # back on its hourly schedule


async def test_a_child_judged_while_its_parent_is_up_is_down_not_unreachable(
    office: tuple[Server, dict[str, Port]],
) -> None:
    server, ports = office
    await wait_for(
        "first results", lambda: all(st(server, k).checked for k in (ROUTER, PRINTER, TONER))
    )
    await ports["printer"].close()
    before = st(server, ROUTER).last_check
    server.scheduler.check_now(PRINTER)
    await wait_for("the printer's verdict", lambda: st(server, PRINTER).state != 0)
    assert st(server, PRINTER).state == 1  # DOWN: the router answered UP just now
    assert st(server, ROUTER).state == 0 and st(server, ROUTER).last_check > before
