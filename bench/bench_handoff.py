"""What handing a probe to a worker process costs: the runner alone, without scheduler, engine
or store, on distinct http checks against a local nginx (bench_ceiling's target and checks).

For each source tree (--src; each run in its own process with that tree first on sys.path) and
each worker count (--workers 0,1,2), the runner runs N distinct checks (each its own CheckSpec,
as in the server) paced at --rate checks/s for --seconds, then as fast as --concurrency allows
for --seconds (the runner's ceiling). Reported: checks/s counted at nginx, CPU-ms per check of
the process and its workers (/proc), and how the CPU splits between them. Bounded in time; all
traffic to 127.0.0.1.

Usage: python bench/bench_handoff.py [--src DIR ...] [--workers 0,1,2] [--rate 500]
       [--seconds 15] [--services 10000] [--concurrency 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _jobs(port: int, services: int) -> list[Any]:
    from augenmass.core.plan import CheckSpec
    from augenmass.core.values import CheckJob, CheckKey

    jobs = []
    for i in range(services):
        x = (i * 7919) % 100_003
        options = {
            "url": f"http://127.0.0.1:{port}/s/{i}?x={x}",
            "contains": f"ok /s/{i} {x}",
            "headers": {"X-Bench-Service": f"svc-{i}"},
            "warning": str(2 + i % 7),
            "critical": str(9 + i % 5),
        }
        spec = CheckSpec("http", (), options, 3 + (i % 40) / 10)
        jobs.append(CheckJob(CheckKey(f"h{i // 10:05d}", f"web{i % 10}"), spec, {}))
    return jobs


def _tree_cpu() -> float:
    pid = os.getpid()
    return procstat.cpu_seconds(pid) + procstat.live_children_cpu(pid)


async def _measure(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    from augenmass.runner import Runner
    from augenmass.runner.pool import ProbeWorkers

    pool = ProbeWorkers(workers, always=True) if workers else None
    if pool is not None:
        await pool.start()
    runner = Runner([], workers=pool)
    jobs = _jobs(args.port, args.services)
    states: dict[int, int] = {}

    async def one(j: Any) -> None:
        r = await runner.run(j)
        states[r.status] = states.get(r.status, 0) + 1

    out: dict[str, Any] = {"workers": workers}
    try:
        # warm-up: every check once (imports, memos, worker definitions)
        sem = asyncio.Semaphore(args.concurrency)

        async def limited(j: Any) -> None:
            async with sem:
                await one(j)

        await asyncio.gather(*(limited(j) for j in jobs))
        for mode in ("paced", "ceiling"):
            states.clear()
            r0, c0, m0, t0 = _requests(args.port), _tree_cpu(), _main_cpu(), time.monotonic()
            end = t0 + args.seconds
            tasks: set[asyncio.Task[None]] = set()
            i = 0
            if mode == "paced":
                step = 1.0 / args.rate
                nxt = t0
                while time.monotonic() < end:
                    now = time.monotonic()
                    while nxt <= now and len(tasks) < 10 * args.concurrency:
                        t = asyncio.ensure_future(one(jobs[i % len(jobs)]))
                        tasks.add(t)
                        t.add_done_callback(tasks.discard)
                        i += 1
                        nxt += step
                    await asyncio.sleep(max(0.0, min(0.01, nxt - time.monotonic())))
            else:
                while time.monotonic() < end:
                    while len(tasks) < args.concurrency:
                        t = asyncio.ensure_future(one(jobs[i % len(jobs)]))
                        tasks.add(t)
                        t.add_done_callback(tasks.discard)
                        i += 1
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks:
                await asyncio.wait(tasks, timeout=10)
            t1 = time.monotonic()
            c1, m1, r1 = _tree_cpu(), _main_cpu(), _requests(args.port)
            counted = r1 - r0 - 1
            out[mode] = {
                "checks_per_s_at_target": round(counted / (t1 - t0), 1),
                "cpu_ms_per_check_tree": round(1000 * (c1 - c0) / max(1, counted), 3),
                "runner_process_cpu_percent": round(100 * (m1 - m0) / (t1 - t0), 1),
                "workers_cpu_percent": round(100 * ((c1 - c0) - (m1 - m0)) / (t1 - t0), 1),
                "states": dict(states),
                "loadavg_1": round(os.getloadavg()[0], 2),
            }
    finally:
        if pool is not None:
            await pool.stop()
    return out


def _main_cpu() -> float:
    return procstat.cpu_seconds(os.getpid())


def _requests(port: int) -> int:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/nginx_status", timeout=5) as resp:
        return int(resp.read().decode().splitlines()[2].split()[2])


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.tree)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_measure(args, args.one))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", action="append")
    ap.add_argument("--workers", default="0,1,2")
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=1)
    # internal: one measurement in a child process
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tree:
        child(args)
        return
    from bench_ceiling import Target

    srcs = args.src or [str(ROOT / "src")]
    target = Target()
    results = []
    try:
        for _ in range(args.repeat):
            for n in (int(w) for w in args.workers.split(",")):
                for src in srcs:  # before/after back to back
                    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
                    cmd = [
                        sys.executable, __file__, "--tree", str(Path(src).resolve()),
                        "--port", str(target.port), "--one", str(n),
                        "--rate", str(args.rate), "--seconds", str(args.seconds),
                        "--services", str(args.services), "--concurrency", str(args.concurrency),
                    ]  # fmt: skip
                    done = subprocess.run(
                        cmd, env=env, capture_output=True, text=True, timeout=600, check=False
                    )
                    if done.returncode:
                        raise RuntimeError(done.stderr[-3000:])
                    point = {"src": src, **json.loads(done.stdout.strip().splitlines()[-1])}
                    print(json.dumps(point), file=sys.stderr, flush=True)
                    results.append(point)
    finally:
        target.stop()
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "services": args.services,
        "rate": args.rate,
        "seconds": args.seconds,
    }
    print(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
