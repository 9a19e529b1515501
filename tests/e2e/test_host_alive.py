"""Hosts without a check of their own, in the real server: pinged by the default host check.

A host on loopback answers and is UP; a router in a network namespace this test builds, which
ignores echo requests, is DOWN; the printer behind it (`parents:`), silent too, is UNREACHABLE,
not DOWN; a host with `check: none` stays assumed UP. Pings go only to 127.0.0.0/8 and to the
namespace."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from officenet import office_net

from .helpers import ServerProcess, cli, wait_for

pytestmark = pytest.mark.slow


def _answered(address: str, count: int, timeout: float) -> int:
    from icmplib import ping

    return int(ping(address, count=count, interval=0.05, timeout=timeout).packets_received)


@pytest.fixture
def silent_netns() -> Iterator[tuple[str, str]]:
    """Two addresses in a network namespace behind a veth pair: reachable (it answers ARP and,
    before it is told not to, pings), then ignoring every echo request."""
    with office_net([2, 3]) as office:
        router, printer = office.address(2), office.address(3)
        for address in (router, printer):  # the path works: they answer (bounded wait)
            wait_for(lambda a=address: _answered(a, 1, 0.2), 10, f"{address} to answer a ping")
        subprocess.run(
            [*office.inside, "sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1"],
            check=True,
            capture_output=True,
            timeout=20,
        )
        for address in (router, printer):  # ... and now they do not
            assert _answered(address, 3, 0.3) == 0
        yield router, printer


@pytest.fixture
def server(tmp_path: Path, silent_netns: tuple[str, str]) -> Iterator[ServerProcess]:
    router, printer = silent_netns
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(f"""
settings: {{max_check_spread: 1s}}
defaults: {{check_interval: 2s, retry_interval: 1s, max_check_attempts: 2}}
hosts:
  monitor: {{address: 127.0.0.42}}
  router: {{address: {router}}}
  printer: {{address: {printer}, parents: [router]}}
  badge-reader: {{address: {printer}, check: none}}
services:
  - {{name: web, host: monitor, check: {{type: dummy, state: ok}}}}
""")
    done = cli("check-config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "OK: 4 hosts (3 by the default host check, 1 without check: assumed UP), 1 service"
    )
    proc = ServerProcess(cfg, tmp_path / "data")
    proc.start()
    yield proc
    proc.stop()


def api_hosts(server: ServerProcess, token: str) -> dict[str, dict[str, Any]]:
    """The hosts as the API (and the web UI) shows them."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/hosts", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return {row["host"]: row for row in json.loads(resp.read())}


def test_router_down_printer_behind_it_unreachable(server: ServerProcess) -> None:
    made = cli("token", "create", "t", "--scope", "read", "--data", str(server.data), check=True)
    token = made.stdout.strip()

    def hard(host: str, state: str) -> bool:
        row = api_hosts(server, token)[host]
        return row["state"] == state and row["state_type"] == "HARD"

    wait_for(lambda: hard("router", "DOWN"), 60, "the silent router to be HARD DOWN")
    wait_for(lambda: hard("printer", "UNREACHABLE"), 60, "the printer to be UNREACHABLE")
    wait_for(lambda: hard("monitor", "UP"), 30, "the loopback host to be UP")
    rows = api_hosts(server, token)
    assert rows["monitor"]["output"].startswith("PING OK - 127.0.0.42: 0% packet loss")
    router = rows["router"]["output"]
    assert router.startswith("PING CRITICAL - ") and "100% packet loss (3 sent" in router
    # check: none - never pinged (its address is as silent as the printer's), assumed UP
    assert rows["badge-reader"]["state"] == "UP"
    assert rows["badge-reader"]["output"] == "(Host assumed to be UP)"
    assert "badge-reader" not in server.status()  # no result was ever stored for it
    # the printer was never HARD DOWN: its problem is the router's
    events = server.history("printer", None)
    printer = [e for e in events if e.kind == "state" and e.state_type == "HARD"]
    assert printer and all(e.state == 2 for e in printer), printer
    assert "icmp checks cannot open their socket" not in server.log.read_text()
