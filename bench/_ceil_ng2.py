"""The throughput ceiling of built-in HTTP checks, counted the way the peer harness counts.

N services, each an `http` check of its own URL on a local nginx (`/s/{i}?x=...`), with its own
timeout, expected text, request header and tags, like a real configuration (not N copies of
one check). The real `augenmass run` checks them at 400, 1,000, 2,000 and 4,000 checks/s asked
(interval = N / rate, first checks spread over one interval). Per point it reports:

- checks/s counted AT THE TARGET: nginx's stub_status request counter over the window (our own
  status reads subtracted), not what the server says it did;
- CPU-ms per check of the whole augenmass process tree (server + probe workers; /proc), and
  the server and worker shares of a core;
- p50/p99 start lateness from /api/health (the server's 60 s window, at most 100,000 starts):
  read at the end of the window, plus the worst read every 5 s. With --seconds 60 (the
  default) the last read covers the measuring window alone: the steady state. The first
  round's lateness (a start with its store and engine being made while the first checks run)
  is reported apart, as `startup_lateness_p99_s`: the read at the end of the warm-up.

Every point starts from a copy of one seeded data directory (every service run once: its state
row and perfdata series exist), as a server that has been running; it then runs one interval
plus 3 s before the window, so the first checks' spread is over. Every point is bounded
(warm-up + --seconds), all traffic goes to 127.0.0.1. With several --src trees (e.g. the base
commit and a worktree) each rate runs on every tree back to back, so before/after figures come
from the same minute of the same machine.

Usage: python bench/bench_ceiling.py [--rates 400,1000,2000,4000] [--services 10000]
       [--seconds 60] [--src /work/main/src --src src] [--workers N] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import procstat  # noqa: E402
import run_bench  # noqa: E402

ROOT = run_bench.ROOT
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PER_HOST = 10

NGINX_CONF = """
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /nginx_status {{ stub_status; }}
        # the body names the service, so every check's expected text is its own
        location /s/ {{ default_type text/plain; return 200 "ok $uri $arg_x\\n"; }}
    }}
}}
"""


class Target:
    """nginx on 127.0.0.1 with its own config in a temp dir; counts requests (stub_status)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="augenmass-ceiling-nginx-"))
        self.port = run_bench.free_port()
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.dir, port=self.port, user=user))
        self.proc = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(self.dir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.requests()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.dir / "stderr.log").read_text())

    def requests(self) -> int:
        """Requests nginx has answered so far, this status read included."""
        url = f"http://127.0.0.1:{self.port}/nginx_status"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        # "Active connections: 1\nserver accepts handled requests\n 5 5 7\n..."
        return int(text.splitlines()[2].split()[2])

    def cpu_seconds(self) -> float:
        """CPU of nginx, master and worker."""
        return procstat.cpu_seconds(self.proc.pid) + procstat.live_children_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_config(
    path: Path, port: int, services: int, interval_ms: int, workers: int | None, slots: int
) -> None:
    """Distinct URL, timeout, expected text, header and tags per service; one file."""
    lines = [
        "settings:",
        f"  max_concurrent_checks: {slots}",
        f"  max_check_spread: {interval_ms}ms",
        "  default_host_check: none",
        *([f"  probe_workers: {workers}"] if workers is not None else []),
        "defaults:",
        f"  check_interval: {interval_ms}ms",
        f"  retry_interval: {interval_ms}ms",
        "  max_check_attempts: 3",
        "hosts:",
    ]
    hosts = (services + PER_HOST - 1) // PER_HOST
    for h in range(hosts):
        tags = f"[bench, site{h % 37}, role{h % 5}]"
        lines.append(f"  h{h:05d}: {{address: 127.0.0.1, tags: {tags}}}")
    lines.append("services:")
    for i in range(services):
        h = i // PER_HOST
        x = (i * 7919) % 100_003
        timeout = 3 + (i % 40) / 10
        lines += [
            f"  - name: web{i % PER_HOST}",
            f"    host: h{h:05d}",
            f"    tags: [svc{i % 11}, tier{i % 3}]",
            f"    check: {{type: http, url: 'http://127.0.0.1:{port}/s/{i}?x={x}',"
            f" timeout: {timeout:g}s, contains: 'ok /s/{i} {x}',"
            f" headers: {{X-Bench-Service: 'svc-{i}'}}, warning: '{2 + i % 7}',"
            f" critical: '{9 + i % 5}'}}",
        ]
    path.write_text("\n".join(lines) + "\n")


CPUS = os.cpu_count() or 1


def host_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


def health(port: int) -> dict[str, Any]:
    """/api/health, waited for up to 30 s: an overloaded server answers late, not never."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def start_server(src: str, cfg: Path, data: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = run_bench.free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    python = str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = "/work/main/.venv/bin/python"
    proc = subprocess.Popen(
        [
            python, "-m", "augenmass", "run", "--config", str(cfg), "--data", str(data),
            "--listen", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "a"),  # noqa: SIM115 - lives as long as the server
        env=env,
    )  # fmt: skip
    return proc, port


def wait_for(proc: subprocess.Popen[bytes], port: int, log: Path, done: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if done(health(port)):
                return
        except OSError:
            pass
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def seed(src: str, target: Target, services: int, workers: int | None, slots: int) -> Path:
    """A data directory in which every service has run: its state row and its perfdata series
    exist. A first result creates those (six series per http check), which costs the store far
    more than a steady result; every point starts from a copy of this, like a server that has
    been running, so what it measures is the steady rate. Bounded: 240 s at most."""
    tmp = Path(tempfile.mkdtemp(prefix="augenmass-ceiling-seed-"))
    cfg = tmp / "bench.yaml"
    write_config(cfg, target.port, services, round(1000 * services / 500), workers, slots)
    proc, port = start_server(src, cfg, tmp / "data", tmp / "server.log")
    try:
        wait_for(
            proc,
            port,
            tmp / "server.log",
            lambda h: h["scheduler"]["checks_completed"] >= services,
            240,
        )
        time.sleep(3)  # the last first results committed (the writer merges for 1 s)
    finally:
        stop(proc)
    return tmp / "data"


def run_point(
    src: str, target: Target, services: int, rate: float, seconds: float, workers: int | None,
    slots: int, seeded: Path,
) -> dict[str, Any]:  # fmt: skip
    interval_ms = round(1000 * services / rate)
    tmp = Path(tempfile.mkdtemp(prefix="augenmass-ceiling-"))
    cfg = tmp / "bench.yaml"
    write_config(cfg, target.port, services, interval_ms, workers, slots)
    data = tmp / "data"
    shutil.copytree(seeded, data)
    log = tmp / "server.log"
    t0 = time.monotonic()
    proc, port = start_server(src, cfg, data, log)
    try:
        wait_for(proc, port, log, lambda h: h["scheduler"]["checks_started"] > 0, 120)
        started = time.monotonic() - t0
        # one interval: every service has run once and the rate is steady
        time.sleep(interval_ms / 1000 + 3)
        h0 = health(port)  # its window: everything since the start
        r0 = target.requests()
        main0 = procstat.cpu_seconds(proc.pid)
        kids0 = procstat.live_children_cpu(proc.pid)
        nginx0 = target.cpu_seconds()
        host0 = host_cpu()
        w0 = time.monotonic()
        p99_worst, reads, late_reads = 0.0, 1, 0
        end = w0 + seconds
        while time.monotonic() < end:
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
            try:
                p99_worst = max(p99_worst, health(port)["scheduler"]["lateness_p99"] or 0)
            except OSError:
                late_reads += 1
        w1 = time.monotonic()
        main1 = procstat.cpu_seconds(proc.pid)
        kids1 = procstat.live_children_cpu(proc.pid)
        nginx1 = target.cpu_seconds()
        host1 = host_cpu()
        r1 = target.requests()
        reads += 1
        h1 = health(port)
        load = os.getloadavg()
    finally:
        stop(proc)
    shutil.rmtree(tmp, ignore_errors=True)
    elapsed = w1 - w0
    at_target = (r1 - r0 - reads) / elapsed
    done = h1["scheduler"]["checks_completed"] - h0["scheduler"]["checks_completed"]
    cpu_main, cpu_kids = main1 - main0, kids1 - kids0
    counted = max(1.0, at_target * elapsed)
    # workers restarted in the window would hide CPU; say so rather than guess
    restarts = h1["probe_workers"]["started"] - h0["probe_workers"]["started"]
    return {
        "src": src,
        "asked_per_s": rate,
        "interval_ms": interval_ms,
        "start_to_first_check_s": round(started, 1),
        "checks_per_s_at_target": round(at_target, 1),
        "checks_per_s_server_says": round(done / elapsed, 1),
        "cpu_ms_per_check_tree": round(1000 * (cpu_main + cpu_kids) / counted, 3),
        "server_cpu_percent": round(100 * cpu_main / elapsed, 1),
        "workers_cpu_percent": round(100 * cpu_kids / elapsed, 1),
        # the target shares the box: its CPU and the whole machine's, in % of one core
        "target_cpu_percent": round(100 * (nginx1 - nginx0) / elapsed, 1),
        "host_busy_percent": round(100 * (host1[0] - host0[0]) / (host1[1] - host0[1]) * CPUS, 1),
        "lateness_p50_s": h1["scheduler"]["lateness_p50"],
        "lateness_p99_s": h1["scheduler"]["lateness_p99"],
        "lateness_p99_worst_read_s": round(p99_worst, 3),
        # the read at the end of the warm-up, whose window holds the start and first round
        "startup_lateness_p99_s": h0["scheduler"]["lateness_p99"],
        # False: the last read's window reaches back into the warm-up (--seconds under 60)
        "lateness_is_steady_state": seconds >= 60 or rate * seconds >= 100_000,
        "queued_at_end": h1["scheduler"]["queued"],
        "in_flight_at_end": h1["scheduler"]["in_flight"],
        "workers": h1["probe_workers"]["alive"],
        "health_reads_over_30s": late_reads,
        "worker_restarts_in_window": restarts,
        "loadavg_1_5_15": [round(v, 2) for v in load],
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="400,1000,2000,4000")
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--src", action="append", help="source tree(s) to run (default: ./src)")
    ap.add_argument("--workers", type=int, default=None, help="settings.probe_workers")
    ap.add_argument("--slots", type=int, default=256, help="settings.max_concurrent_checks")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    srcs = args.src or [str(ROOT / "src")]
    rates = [float(r) for r in args.rates.split(",")]
    target = Target()
    results = []
    seeded: Path | None = None
    try:
        seeded = seed(srcs[0], target, args.services, args.workers, args.slots)
        for _ in range(args.repeat):
            for rate in rates:
                for src in srcs:  # before/after back to back at each rate
                    point = run_point(
                        src,
                        target,
                        args.services,
                        rate,
                        args.seconds,
                        args.workers,
                        args.slots,
                        seeded,
                    )
                    print(json.dumps(point), file=sys.stderr, flush=True)
                    results.append(point)
    finally:
        target.stop()
        if seeded is not None:
            shutil.rmtree(seeded.parent, ignore_errors=True)
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "services": args.services,
        "seconds_per_point": args.seconds,
    }
    print(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
