"""Run the real `augenmass run` against generated configs and report its figures.

Scenarios (all traffic to 127.0.0.1; every loop bounded in time):
  tcp      N services, each a TCP connect to a local listener, at a fixed interval
  plugin   services running check_dummy, more than the machine can do: plugin runs per second
  floor    the bare fork/exec floor: check_dummy started back to back from asyncio, no server
  overload TCP services demanding more checks/s than the concurrency limit allows
  hosts    N hosts without a check of their own: the default host check pings them (5 min)

Usage: python bench/run_bench.py [tcp|plugin|floor|overload|hosts|all] [--services N]
       [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AUGENMASS = ROOT / ".venv" / "bin" / "augenmass"
CHECK_DUMMY = "/usr/lib/nagios/plugins/check_dummy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LISTENER = r"""
import asyncio, sys
async def main():
    async def handle(r, w):
        w.close()
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    await asyncio.sleep(float(sys.argv[2]))
asyncio.run(main())
"""


def write_config(
    path: Path,
    hosts: int,
    per_host: int,
    check: str,
    interval: str,
    concurrency: int,
    host_check: str | None = "none",
    spread: str = "60s",
) -> None:
    """`host_check`: settings.default_host_check (None: the built-in ping); `none` keeps the
    service figures comparable with those measured before hosts were pinged by default."""
    lines = [
        "settings:",
        f"  max_concurrent_checks: {concurrency}",
        f"  max_check_spread: {spread}",
        *([f"  default_host_check: {host_check}"] if host_check is not None else []),
        "defaults:",
        f"  check_interval: {interval}",
        f"  retry_interval: {interval}",
        "  max_check_attempts: 3",
        "hosts:",
    ]
    lines += [f"  h{i:05d}: {{address: 127.0.0.1, tags: [bench]}}" for i in range(hosts)]
    lines.append("services:")
    for j in range(per_host):
        lines += [f"  - name: s{j:03d}", "    hosts: {tag: bench}", f"    check: {check}"]
    path.write_text("\n".join(lines) + "\n")


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def run_server(cfg: Path, seconds: float, warmup: float) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="augenmass-bench-"))
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            str(AUGENMASS),
            "run",
            "--config",
            str(cfg),
            "--data",
            str(data),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(data / "server.log", "w"),  # noqa: SIM115 - lives as long as the server
    )
    first_check = None
    try:
        deadline = t0 + 60
        while time.monotonic() < deadline and first_check is None:
            try:
                if health(port)["scheduler"]["checks_started"] > 0:
                    first_check = time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.05)
        time.sleep(max(0.0, warmup - (time.monotonic() - t0)))
        h0, c0, w0 = health(port), procstat.cpu_seconds(proc.pid), time.monotonic()
        k0 = procstat.live_children_cpu(proc.pid)
        main0, c0 = c0, c0 + k0
        rss_start = procstat.rss_mb(proc.pid)
        p99_max = 0.0
        end = w0 + seconds
        while time.monotonic() < end:
            time.sleep(min(5.0, end - time.monotonic()))
            p99_max = max(p99_max, health(port)["scheduler"]["lateness_p99"] or 0.0)
        h1, w1 = health(port), time.monotonic()
        main1 = procstat.cpu_seconds(proc.pid)
        c1 = main1 + procstat.live_children_cpu(proc.pid)
        zombies = procstat.zombie_pids(proc.pid)
        time.sleep(2.0)
        # a zombie still there 2 s later was never reaped (transient ones are normal under load)
        leaked = zombies & procstat.zombie_pids(proc.pid)
        rss = procstat.peak_rss_mb(proc.pid)
        rss_now = procstat.rss_mb(proc.pid)
        checked = checked_keys(data / "augenmass.db")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    done = h1["scheduler"]["checks_completed"] - h0["scheduler"]["checks_completed"]
    elapsed = w1 - w0
    cpu = c1 - c0
    return {
        "startup_to_first_check_s": round(first_check or -1, 3),
        "checks_per_s": round(done / elapsed, 1),
        "cpu_percent_of_one_core": round(100 * cpu / elapsed, 1),
        "cpu_ms_per_check": round(1000 * cpu / done, 3) if done else None,
        # the server process (its loop, store thread and the plugins it reaped) vs probe workers
        "server_process_cpu_percent": round(100 * (main1 - main0) / elapsed, 1),
        "probe_workers": h1.get("probe_workers"),
        "lateness_p50_s": h1["scheduler"]["lateness_p50"],
        "lateness_p99_s": h1["scheduler"]["lateness_p99"],
        "lateness_p99_worst_window_s": round(p99_max, 3),
        "lateness_max_s": h1["scheduler"]["lateness_max"],
        "queued_at_end": h1["scheduler"]["queued"],
        "peak_rss_mb": round(rss, 1),
        "rss_mb_window_start_end": [round(rss_start, 1), round(rss_now, 1)],
        "zombies_transient": len(zombies),
        "zombies_left_unreaped": len(leaked),
        "checks_started_total": h1["scheduler"]["checks_started"],
        "store_failures": h1["store"]["failures"],
        "store_pending_batches_at_end": h1["store"]["pending"],
        "services_checked_at_least_once": checked,
        "hosts_checked_at_least_once": checked_keys(data / "augenmass.db", hosts=True),
    }


def checked_keys(db: Path, hosts: bool = False) -> int:
    """How many services (or hosts) have a stored result: the proof that no check was dropped."""
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    kind = "service = ''" if hosts else "service != ''"
    try:
        (checked,) = con.execute(
            f"SELECT count(*) FROM check_state WHERE {kind} AND checked"
        ).fetchone()
    finally:
        con.close()
    return int(checked)


def bench_hosts(hosts: int, seconds: float, interval: str, warmup: float) -> dict[str, Any]:
    """Hosts without a check of their own, pinged by the built-in default host check (all at
    127.0.0.1: every ping is answered)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        # first pings spread over the whole interval: the steady rate from the start
        write_config(cfg, hosts, 0, "", interval, 256, host_check=None, spread=interval)
        out = run_server(cfg, seconds, warmup=warmup)
    return {"scenario": "hosts (default ping)", "hosts": hosts, "interval": interval, **out}


def bench_tcp(
    services: int,
    seconds: float,
    interval: str = "60s",
    concurrency: int = 256,
    warmup: float = 65.0,
) -> dict[str, Any]:
    port = free_port()
    listener = subprocess.Popen([sys.executable, "-c", LISTENER, str(port), str(seconds + 120)])
    time.sleep(0.5)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "bench.yaml"
            per_host = 10
            write_config(
                cfg,
                services // per_host,
                per_host,
                f"{{type: tcp, port: {port}, timeout: 5s}}",
                interval,
                concurrency,
            )
            out = run_server(cfg, seconds, warmup=warmup)
    finally:
        listener.terminate()
    return {"scenario": "tcp", "services": services, "interval": interval, **out}


def bench_plugin(services: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        write_config(
            cfg,
            services // 10,
            10,
            f"{{type: plugin, command: [{CHECK_DUMMY}, '0', bench]}}",
            "1s",
            64,
        )
        out = run_server(cfg, seconds, warmup=5.0)
    return {"scenario": "plugin check_dummy", "services": services, "interval": "1s", **out}


def bench_floor(n: int = 3000, parallel: int = 64) -> dict[str, Any]:
    """The bare fork/exec floor: posix_spawn + waitpid of check_dummy, no event loop, no
    pipes, no parsing: what any plugin runner written in Python pays at least."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    argv = [CHECK_DUMMY, "0", "x"]
    running = 0
    started = time.monotonic()
    cpu0 = os.times()
    for _ in range(n):
        if running >= parallel:
            os.waitpid(-1, 0)
            running -= 1
        os.posix_spawn(CHECK_DUMMY, argv, {}, file_actions=actions)
        running += 1
    while running:
        os.waitpid(-1, 0)
        running -= 1
    elapsed = time.monotonic() - started
    cpu1 = os.times()
    cpu = (cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system) - (
        cpu0.user + cpu0.system + cpu0.children_user + cpu0.children_system
    )
    os.close(devnull)
    return {
        "scenario": f"fork/exec floor: posix_spawn + waitpid of check_dummy, {parallel} parallel",
        "runs": n,
        "runs_per_s": round(n / elapsed, 1),
        "cpu_ms_per_run": round(1000 * cpu / n, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="all")
    ap.add_argument("--services", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--interval", default="60s", help="tcp: check interval")
    ap.add_argument("--warmup", type=float, default=65.0, help="tcp: seconds before measuring")
    args = ap.parse_args()
    results = []
    if args.scenario in ("tcp", "all"):
        results.append(
            bench_tcp(args.services or 10_000, args.seconds, args.interval, warmup=args.warmup)
        )
    if args.scenario in ("floor", "all"):
        results.append(bench_floor())
    if args.scenario in ("plugin", "all"):
        results.append(bench_plugin(args.services or 2_000, min(args.seconds, 30.0)))
    if args.scenario in ("overload", "all"):
        results.append(
            bench_tcp(args.services or 20_000, min(args.seconds, 60.0), "5s", 64, warmup=15.0)
        )
        results[-1]["scenario"] = "overload tcp (4,000 checks/s asked, 64 slots)"
    if args.scenario == "hosts":  # not in `all`: its figures are a separate question
        interval = args.interval if args.interval != "60s" else "5m"
        results.append(bench_hosts(args.services or 10_000, args.seconds, interval, args.warmup))
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    print(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
