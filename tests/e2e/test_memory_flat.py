"""A leak shows as growth: the real server under overload keeps its memory flat.

The server (and its probe worker) run 300 services every second with 16 check slots, TCP checks
against a local listener and dummy checks with perfdata: more than a loaded machine does, so the
queue, the store's writer and the worker pipe are busy the whole time. After a warm-up (every
service checked ten times), the RSS of the process tree is sampled once a second, and the test
passes once the trend over the last 20 s (a least-squares line through 21 samples, not one
sample against another: the allocator grows in steps) is under 0.75 MB. Memory that is still
filling up (SQLite's page cache grows with the tables for a minute or two) gets there; a leak
never does, and after WINDOW_LIMIT s of sampling the test fails with the curve. At this rate a
leak of about a hundred bytes per check run is caught (the one of issue 17 grew 5 MB in 90 s);
bench/soak.py runs the same kind of load for 30 min.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ServerProcess, free_port, wait_for

pytestmark = pytest.mark.slow


def free_udp_port() -> int:
    """A UDP port nothing answers on (an SNMP agent that is not there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVICES = 300
WARM_RUNS = 10  # every service checked this often before the first sample
WINDOW = 21  # samples, one a second: the trend is taken over the last 20 s
FLAT_MB = 0.75  # growth over the window (trend), server + worker, that counts as flat
WINDOW_LIMIT = 120.0  # seconds of sampling without a flat window: a leak


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            todo += [int(x) for x in (task / "children").read_text().split()]
    return found


def tree_rss(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            total += rss_mb(p)
        except OSError:
            pass  # a worker being restarted
    return total


def slope(points: list[tuple[float, float]]) -> float:
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den


LISTENER = """
import asyncio, sys
async def main():
    async def handle(r, w):
        w.close()
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    print("ready", flush=True)
    await asyncio.sleep(300)  # bounded, whatever happens to the test
asyncio.run(main())
"""


@pytest.fixture
def tcp_port() -> Iterator[int]:
    """A local listener process that accepts and closes."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LISTENER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield port
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


def write_config(path: Path, port: int) -> None:
    hosts = SERVICES // 10
    lines = [
        "settings: {max_concurrent_checks: 16, max_check_spread: 1s, probe_workers: 1,",
        "           default_host_check: none}",
        "defaults: {check_interval: 1s, retry_interval: 1s}",
        "hosts:",
        *(f"  h{i:04d}.example.org: {{address: 127.0.0.1, tags: [t]}}" for i in range(hosts)),
        "services:",
    ]
    for j in range(10):
        if j % 2:
            check = f"{{type: tcp, port: {port}, timeout: 5s, warning: '1', critical: '3'}}"
        else:
            check = f"{{type: dummy, output: 'fine {j}', perfdata: 'a={j};5;9 b={j}ms'}}"
        lines += [f"  - name: s{j}", "    hosts: {tag: t}", f"    check: {check}"]
    # A probe with counters always runs in a worker: it is started for this one from the
    # first round, whether the server finds itself busy or not, and is measured with it.
    lines += [
        "  - name: uplink",
        "    host: h0000.example.org",
        f"    check: {{type: snmp-interface, port: {free_udp_port()}, interface: '1',"
        " retries: 0, timeout: 1s}",
    ]
    path.write_text("\n".join(lines) + "\n")


def test_memory_stays_flat_under_overload(tmp_path: Path, tcp_port: int) -> None:
    cfg = tmp_path / "augenmass.yaml"
    write_config(cfg, tcp_port)
    server = ServerProcess(cfg, tmp_path / "data", args=("--log-level", "warning")).start()
    try:
        assert server.proc is not None
        pid = server.proc.pid

        def warm() -> bool:
            h = server.health()
            return bool(
                h["scheduler"]["checks_completed"] >= WARM_RUNS * SERVICES
                and h["probe_workers"]["alive"] == 1
            )

        wait_for(warm, 120, f"{WARM_RUNS} runs of every service", step=0.5)
        done0 = server.health()["scheduler"]["checks_completed"]
        points: list[tuple[float, float]] = []
        growth = float("inf")
        t0 = time.monotonic()
        while time.monotonic() - t0 < WINDOW_LIMIT:
            # sample on a fixed grid: a slow sample does not stretch the window
            time.sleep(max(0.0, t0 + len(points) - time.monotonic()))
            points.append((time.monotonic() - t0, tree_rss(pid)))
            last = points[-WINDOW:]
            if len(last) == WINDOW:
                growth = slope(last) * (last[-1][0] - last[0][0])
                if growth < FLAT_MB:
                    break
        done = server.health()["scheduler"]["checks_completed"] - done0
    finally:
        server.stop()
    curve = ", ".join(f"{v:.1f}" for _, v in points)
    # the sampled time saw real work: without it flat memory proves nothing
    assert done >= SERVICES * 5, f"only {done} checks ran while sampling"
    assert growth < FLAT_MB, (
        f"RSS never flat for 20 s in {points[-1][0]:.0f} s of sampling ({done} checks run); "
        f"the last 20 s grew {growth:.1f} MB; MB each second: {curve}"
    )
