"""An office behind a router, in a network namespace the test creates: a veth pair whose far
end holds the router's and the devices' addresses. Cutting the far end is the router going
down (every address behind it stops answering, as when the office line fails); mending it
brings it back. Needs root (skip, or fail under CI=true)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest


def _need(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)")
    pytest.skip(reason)


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


@dataclass(frozen=True)
class Office:
    name: str  # the namespace
    subnet: str  # "10.215.N": the office's /24
    ns_if: str

    def address(self, last: int) -> str:
        return f"{self.subnet}.{last}"

    @property
    def inside(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.name)

    def cut(self) -> None:
        _sh(*self.inside, "ip", "link", "set", self.ns_if, "down")

    def mend(self) -> None:
        _sh(*self.inside, "ip", "link", "set", self.ns_if, "up")


@contextmanager
def office_net(devices: list[int], kind: str = "of", octet: int = 215) -> Iterator[Office]:
    """The namespace with `10.OCTET.TAG.N/24` for every N in `devices` (the monitor side is
    `.1`). `kind` and `octet` keep different users' namespaces and subnets apart; TAG is the
    first free one from the process id on, so parallel workers and a namespace left behind by
    a killed run do not collide."""
    _need(os.geteuid() == 0, "network namespaces need root")
    _need(shutil.which("ip") is not None, "iproute2 (ip) not installed")
    name = ""
    for attempt in range(200):
        tag = (os.getpid() + attempt) % 200 + 20
        name = f"am{kind}{tag}"
        done = subprocess.run(["ip", "netns", "add", name], capture_output=True, timeout=20)
        if done.returncode == 0:
            break
        if b"File exists" not in done.stderr:
            _need(False, f"cannot create a network namespace: {done.stderr.decode().strip()}")
    else:
        _need(False, "no free network namespace name")
    host_if, ns_if = f"{name}a", f"{name}b"
    office = Office(name, f"10.{octet}.{tag}", ns_if)
    try:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=20)
        _sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _sh("ip", "link", "set", ns_if, "netns", name)
        _sh("ip", "addr", "add", f"{office.subnet}.1/24", "dev", host_if)
        _sh("ip", "link", "set", host_if, "up")
        _sh(*office.inside, "ip", "link", "set", "lo", "up")
        # devices answer on their real ports (SNMP 161) from agents that drop root first
        _sh(*office.inside, "sysctl", "-q", "-w", "net.ipv4.ip_unprivileged_port_start=0")
        for last in devices:
            _sh(*office.inside, "ip", "addr", "add", f"{office.subnet}.{last}/24", "dev", ns_if)
        _sh(*office.inside, "ip", "link", "set", ns_if, "up")
        yield office
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=20)
