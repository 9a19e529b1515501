"""Memory of the real `augenmass run` at 500 … 50,000 services, and what one check costs in bytes.

    python bench/memory.py rss [--services 500,5000,10000,50000] [--sources DIR ...]
    python bench/memory.py bytes [--services 10000]
    python bench/memory.py imports

`rss`: a realistic configuration (`write_config`: every host its own name, display name,
tags and vars, services of three kinds with distinct URLs, paths, ports and thresholds, from
apply rules and per host), the real server started on it (SQLite store, probe workers), run until
every check has a result (bounded), then the RSS of the server process and of each probe worker
from /proc, averaged over a few samples. Probe workers start only when the server offloads (a
busy loop), so an idle server's figure has none; `--probe-workers N` caps them. `--sources` runs
the same configuration against other source trees (PYTHONPATH), one after the other in the same
run: `git archive main src | tar -x -C /tmp/before` gives the figures before a change, next to
after.

`bytes`: in this process, the config loaded and the server's per-check structures built (Plan,
engine states after one result each, job templates, due queue) with tracemalloc on; the growth
grouped by file and line, divided by the number of checks.

`imports`: the modules (and their RSS) of the server's import and of a probe worker's.

Traffic only to 127.0.0.1 (a local HTTP and a local TCP listener); every wait bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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
PER_HOST = 10
SITES = ("ber", "muc", "ham", "fra", "cgn", "stu", "dus", "lei")
ROLES = ("web", "db", "mail", "app")

# A local HTTP server that answers every path (the http checks' URLs are all distinct) and a
# TCP listener that accepts and closes.
LISTENERS = r"""
import asyncio, sys
from aiohttp import web
async def main():
    async def ok(request):
        return web.Response(text="ok " + request.path)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[1]), backlog=4096).start()
    async def handle(r, w):
        w.close()
    await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[2]), backlog=4096)
    await asyncio.sleep(float(sys.argv[3]))
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    path: Path,
    services: int,
    http_port: int,
    tcp_port: int,
    interval: str = "60s",
    spread: str = "30s",
    concurrency: int = 256,
    probe_workers: int | None = None,
) -> int:
    """A config of `services` services on services/10 hosts; returns the number of hosts.

    Per host: 3 services from apply rules (by tag), 7 written for the host with options of its
    own (URL path, thresholds, expected text, perfdata): what makes real configs differ."""
    hosts = max(1, services // PER_HOST)
    lines = [
        "settings:",
        f"  max_concurrent_checks: {concurrency}",
        f"  max_check_spread: {spread}",
        "  default_host_check: none",
        *([] if probe_workers is None else [f"  probe_workers: {probe_workers}"]),
        "defaults:",
        f"  check_interval: {interval}",
        "  retry_interval: 60s",
        "  max_check_attempts: 3",
        "templates:",
        "  linux:",
        "    vars: {os: debian, ssh_port: '22'}",
        "    groups: [linux-servers]",
        "hosts:",
    ]
    for i in range(hosts):
        site, role = SITES[i % len(SITES)], ROLES[(i // 3) % len(ROLES)]
        lines.append(
            f"  {role}{i:05d}.{site}.example.org: {{use: linux, address: 127.0.0.1,"
            f" display_name: '{role.title()} {i} ({site.upper()})',"
            f" tags: [linux, {role}, site-{site}, rack-{i % 40:02d}],"
            f" vars: {{rack: 'r{i % 40:02d}', serial: 'SN{i:08d}', owner: 'team-{role}'}}}}"
        )
    lines += [
        "services:",
        "  - name: ssh",
        "    hosts: {tag: linux}",
        f"    check: {{type: tcp, port: {tcp_port}, timeout: 5s, warning: '0.5', critical: '2'}}",
        "  - name: load",
        "    hosts: {tag: linux}",
        "    check: {type: dummy, state: 0, output: 'load average: 0.12, 0.08, 0.05',"
        " perfdata: 'load1=0.12;4;8;0 load5=0.08;3;6;0 load15=0.05;2;4;0'}",
        "  - name: health",
        "    hosts: {tag: web}",
        f"    check: {{type: http, url: 'http://127.0.0.1:{http_port}/health', timeout: 5s}}",
    ]
    per_host = PER_HOST - 3
    for i in range(hosts):
        site, role = SITES[i % len(SITES)], ROLES[(i // 3) % len(ROLES)]
        host = f"{role}{i:05d}.{site}.example.org"
        for j in range(per_host):
            name = f"{('app', 'api', 'disk', 'queue', 'port', 'cert', 'login')[j]}-{j}"
            if j % 3 == 0:
                check = (
                    f"{{type: http, url: 'http://127.0.0.1:{http_port}/{site}/{i}/{name}',"
                    f" contains: 'ok', warning: '{1 + j % 3}', critical: '{5 + j % 4}',"
                    " timeout: 5s}"
                )
            elif j % 3 == 1:
                check = (
                    f"{{type: tcp, port: {tcp_port}, timeout: 5s, warning: '0.{j}', critical: '3'}}"
                )
            else:
                check = (
                    f"{{type: dummy, state: 0, output: '{name} on {host} fine',"
                    f" perfdata: 'used={i % 97}%;80;90;0;100 free={1000 + i}MB'}}"
                )
            lines += [
                f"  - name: {name}",
                f"    host: {host}",
                f"    tags: [{role}, prio-{j % 3}]",
                f"    check: {check}",
            ]
    path.write_text("\n".join(lines) + "\n")
    return hosts


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def tree_rss(pid: int) -> tuple[float, list[float]]:
    """RSS (MB) of the server process and of each of its children (the probe workers)."""
    kids = procstat.tree(pid)[1:]
    return procstat.rss_mb(pid), [procstat.rss_mb(k) for k in kids]


def run_one(
    sources: Path,
    services: int,
    http_port: int,
    tcp_port: int,
    limit: float = 600.0,
    restart: bool = True,
    probe_workers: int | None = None,
) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="augenmass-mem-"))
    cfg = data.parent / f"{data.name}.yaml"
    write_config(cfg, services, http_port, tcp_port, probe_workers=probe_workers)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(sources)}
    if restart:
        # A server is started on its existing database nearly every time: a first start makes
        # the database (and the schema migration with it), the measured one starts on it.
        first = subprocess.Popen(
            [sys.executable, "-m", "augenmass", "run", "--config", str(cfg), "--data", str(data)]
            + ["--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            time.sleep(1.0)
            try:
                health(port)
                break
            except OSError:
                continue
        first.terminate()
        first.wait(timeout=120)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "augenmass", "run", "--config", str(cfg), "--data", str(data)]
        + ["--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=open(data / "server.log", "w"),  # noqa: SIM115 - lives as long as the server
        env=env,
    )
    try:
        done = 0
        deadline = t0 + limit
        # every service checked once (started plus one interval at most), bounded
        while time.monotonic() < deadline:
            time.sleep(2.0)
            try:
                h = health(port)
            except OSError:
                continue
            done = h["scheduler"]["checks_completed"]
            if done >= services:
                break
        time.sleep(5.0)  # the store catches up
        samples = []
        for _ in range(5):
            samples.append(tree_rss(proc.pid))
            time.sleep(1.0)
        main = sum(s[0] for s in samples) / len(samples)
        workers = [
            max(s[1][i] for s in samples if len(s[1]) > i) for i in range(len(samples[-1][1]))
        ]
        peak = procstat.peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(data, ignore_errors=True)
    cfg.unlink(missing_ok=True)
    return {
        "services": services,
        "sources": str(sources),
        "checks_completed": done,
        "seconds_to_all_checked": round(time.monotonic() - t0, 1),
        "main_rss_mb": round(main, 1),
        "main_peak_rss_mb": round(peak, 1),
        "worker_rss_mb": [round(w, 1) for w in workers],
        "total_rss_mb": round(main + sum(workers), 1),
    }


def cmd_rss(
    sizes: list[int], sources: list[Path], probe_workers: int | None = None
) -> list[dict[str, Any]]:
    http_port, tcp_port = free_port(), free_port()
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENERS, str(http_port), str(tcp_port), "7200"]
    )
    time.sleep(1.0)
    out = []
    try:
        for n in sizes:
            for src in sources:
                r = run_one(src, n, http_port, tcp_port, probe_workers=probe_workers)
                r["load"] = os.getloadavg()
                print(json.dumps(r), flush=True)
                out.append(r)
    finally:
        listener.terminate()
    return out


def cmd_bytes(services: int, top: int) -> None:
    """Per-check bytes of the server's structures, built in this process as the server does."""
    import gc
    import tracemalloc

    from augenmass.config import load_config
    from augenmass.core.values import CheckResult, PerfDatum
    from augenmass.scheduler.duequeue import DueQueue
    from augenmass.server.server import build_jobs
    from augenmass.state.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "mem.yaml"
        write_config(cfg, services, 8080, 8081)
        gc.collect()
        tracemalloc.start(1)
        steps: list[tuple[str, tracemalloc.Snapshot]] = [("start", tracemalloc.take_snapshot())]
        plan = load_config(cfg)
        gc.collect()
        steps.append(("plan", tracemalloc.take_snapshot()))
        engine = Engine(plan)
        now = time.time()
        for i, key in enumerate(list(engine.states)):
            perf = (PerfDatum("time", 0.001 * (i % 50), "s", "1", "5", 0.0),)
            engine.ingest(CheckResult(key, 0, f"OK - {key} answered", perfdata=perf), now)
        gc.collect()
        steps.append(("engine states (one result each)", tracemalloc.take_snapshot()))
        jobs = build_jobs(plan)
        queue = DueQueue()
        for key in jobs:
            queue.push(key, now)
        gc.collect()
        steps.append(("jobs + due queue", tracemalloc.take_snapshot()))
        checks = len(plan.services) + len(plan.hosts)
        for (_, before), (name, after) in zip(steps, steps[1:], strict=False):
            diff = after.compare_to(before, "lineno")
            total = sum(d.size_diff for d in diff)
            print(f"\n== {name}: {total / 1e6:.1f} MB, {total / checks:.0f} B per check")
            for d in diff[:top]:
                print(f"  {d.size_diff / checks:8.0f} B/check  {d.traceback}")
        tracemalloc.stop()
        st = next(iter(engine.states.values()))
        svc = next(iter(plan.services.values()))
        job = next(iter(jobs.values()))
        print("\nsys.getsizeof (shallow):")
        for name, obj in [
            ("CheckState", st),
            ("ServicePlan", svc),
            ("Policy", svc.policy),
            ("CheckSpec", svc.check),
            ("JobTemplate", job),
            ("job.macros", job.macros),
        ]:
            print(f"  {name:12s} {sys.getsizeof(obj):6d} B")
        print(f"checks: {checks}; {len(engine.states)} states held; {keep(plan, engine, jobs)}")


def cmd_server(services: int, top: int, group: str, interval: str, growth: float) -> None:
    """The real Server in this process under tracemalloc (started after the imports): what
    it holds once every check has run once, grouped by file (or line)."""
    import asyncio
    import gc
    import tracemalloc

    from augenmass.server.server import Server

    http_port, tcp_port = free_port(), free_port()
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENERS, str(http_port), str(tcp_port), "900"]
    )

    async def go(tmp: Path) -> None:
        cfg = tmp / "mem.yaml"
        write_config(cfg, services, http_port, tcp_port, interval=interval)
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        server = Server(cfg, tmp / "data")
        await server.start()
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                await asyncio.sleep(2.0)
                if server.scheduler.stats.checks_completed >= services:
                    break
            await asyncio.sleep(5.0)
            if growth > 0:
                gc.collect()
                before = tracemalloc.take_snapshot()
                await asyncio.sleep(growth)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            await server.stop()
        checks = services + services // PER_HOST
        diff = after.compare_to(before, group)
        total = sum(d.size_diff for d in diff)
        print(f"server after one round: {total / 1e6:.1f} MB, {total / checks:.0f} B per check")
        for d in diff[:top]:
            print(f"  {d.size_diff / checks:8.0f} B/check {d.count_diff:8d} blocks  {d.traceback}")

    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(go(Path(tmp)))
    finally:
        listener.terminate()


def keep(*objs: object) -> str:
    return f"{len(objs)} structures alive"


def cmd_imports() -> None:
    code = (
        "import {mod}, resource, sys; "
        "print(len(sys.modules), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    for label, mod in [
        ("server (augenmass.server.server)", "augenmass.server.server"),
        ("web site (augenmass.web.site)", "augenmass.web.site"),
        ("probe worker (augenmass.runner.worker)", "augenmass.runner.worker"),
    ]:
        out = subprocess.run(
            [sys.executable, "-c", code.format(mod=mod)], capture_output=True, text=True, check=True
        ).stdout.split()
        print(f"{label}: {out[0]} modules, peak RSS {out[1]} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["rss", "bytes", "server", "imports"])
    ap.add_argument("--services", default="500,5000,10000,50000")
    ap.add_argument("--sources", nargs="*", type=Path, default=[ROOT / "src"])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--group", default="filename", help="server: filename or lineno")
    ap.add_argument("--interval", default="60s", help="server: check interval")
    ap.add_argument("--growth", type=float, default=0.0, help="server: seconds of growth")
    ap.add_argument("--probe-workers", type=int, default=None, help="rss: settings.probe_workers")
    args = ap.parse_args()
    sizes = [int(s) for s in args.services.split(",")]
    if args.what == "rss":
        results = cmd_rss(sizes, args.sources, args.probe_workers)
        machine = {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        }
        print(json.dumps({"machine": machine, "results": results}, indent=2))
    elif args.what == "bytes":
        cmd_bytes(sizes[0], args.top)
    elif args.what == "server":
        cmd_server(sizes[0], args.top, args.group, args.interval, args.growth)
    else:
        cmd_imports()


if __name__ == "__main__":
    main()
