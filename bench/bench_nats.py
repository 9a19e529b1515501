"""Check workers over NATS JetStream (issue 18): what the NATS path costs and carries.

cpu   The same http check against the same local nginx, N times with 50 at once: in this
      process with the runner (the in-process path), then through NATS (this process publishes
      the jobs and takes the answers as the server's dispatch does; one `augenmass worker`
      process runs them). CPU-ms per check of each process, read from /proc and getrusage:
      in-process; NATS: server side, worker, nats-server, total. Rounds alternate the two
      paths back to back, so both see the same load on the shared machine.
rate  RATE checks a second for SECONDS seconds through 1, 2, 3 worker processes (each with 256
      slots): jobs issued on a fixed schedule, lateness = when the worker started the check
      minus when it was due; p50/p99/max, checks done per second, redelivered, expired and
      unanswered jobs, CPU per check of server side, workers and nats-server.

The server side here is the dispatch alone (publish, answers matched to jobs): the engine and
the store cost the same on both paths and are measured by run_bench.py. nginx, nats-server and
the workers are child processes on 127.0.0.1; every loop is bounded in count and time.

Usage: python bench/bench_nats.py [cpu] [rate] [--checks 3000] [--rounds 2] [--rate 2000]
       [--seconds 10] [--workers 1,2,3] [--check http|dummy]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import procstat  # noqa: E402
from bench_probes import Nginx  # noqa: E402
from run_bench import free_port  # noqa: E402

from augenmass.cluster.dispatch import Dispatch  # noqa: E402
from augenmass.core.clock import SystemClock  # noqa: E402
from augenmass.core.plan import CheckSpec, ClusterSettings  # noqa: E402
from augenmass.core.values import CheckJob, CheckKey, CheckResult  # noqa: E402
from augenmass.runner import Runner  # noqa: E402

NATS_BIN = "/usr/sbin/nats-server"
WARMUP = 200


class NatsServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="augenmass-nats-"))
        self.port = free_port()
        self.proc = subprocess.Popen(
            [NATS_BIN, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def start_workers(url: str, prefix: str, count: int, slots: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "augenmass",
                "worker",
                "--nats",
                url,
                "--prefix",
                prefix,
                "--concurrency",
                str(slots),
                "--name",
                f"bench-{i}",
                "--log-level",
                "warning",
            ],
            start_new_session=True,
        )  # fmt: skip
        for i in range(count)
    ]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(30)


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def http_job(port: int) -> Callable[[int, float], CheckJob]:
    spec = CheckSpec(type="http", options={"host": "127.0.0.1", "port": port}, timeout=5.0)
    return lambda i, due: CheckJob(CheckKey("web", f"s{i % 5000}"), spec, {}, due_at=due)


def dummy_job() -> Callable[[int, float], CheckJob]:
    spec = CheckSpec(type="dummy", options={"state": 0, "output": "ok"}, timeout=5.0)
    return lambda i, due: CheckJob(CheckKey("h", f"s{i % 5000}"), spec, {}, due_at=due)


async def make_dispatch(url: str, prefix: str, workers: int) -> Dispatch:
    settings = ClusterSettings(nats_url=url, prefix=prefix, ack_wait=10.0)

    async def not_here(job: CheckJob) -> CheckResult | None:
        return None  # a job NATS did not confirm in time: counted as without result

    d = Dispatch(settings, SystemClock(), not_here, (), 65536)
    await d.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        zones = d.figures().zones
        if zones and zones[0].workers >= workers and d.figures().connected:
            return d
        await asyncio.sleep(0.1)
    raise RuntimeError("workers did not come up within 60 s")


async def many(run: Callable[[int], object], count: int, concurrency: int) -> None:
    left = iter(range(count))

    async def loop() -> None:
        for i in left:
            await run(i)  # type: ignore[misc]

    await asyncio.wait_for(asyncio.gather(*(loop() for _ in range(concurrency))), 600)


async def cpu(args: argparse.Namespace) -> None:
    nginx, nats = Nginx(), NatsServer()
    prefix = f"b{uuid.uuid4().hex[:8]}"
    procs = start_workers(nats.url, prefix, 1, 64)
    try:
        make = http_job(nginx.http)
        runner = Runner((), 65536)
        d = await make_dispatch(nats.url, prefix, 1)

        async def local(i: int) -> None:
            result = await runner.run(make(i, time.time()))
            assert result.status == 0, result.output

        async def remote(i: int) -> None:
            offered = d.offer(make(i, time.time()), "default")
            assert offered is not None
            result = await offered
            assert result is not None and result.status == 0, result

        await many(local, WARMUP, 50)
        await many(remote, WARMUP, 50)
        for rnd in range(args.rounds):
            c0 = self_cpu()
            await many(local, args.checks, 50)
            inproc = (self_cpu() - c0) * 1000 / args.checks
            c0, w0, n0 = (
                self_cpu(),
                procstat.cpu_seconds(procs[0].pid),
                procstat.cpu_seconds(nats.proc.pid),
            )
            t0 = time.monotonic()
            await many(remote, args.checks, 50)
            wall = time.monotonic() - t0
            server = (self_cpu() - c0) * 1000 / args.checks
            worker = (procstat.cpu_seconds(procs[0].pid) - w0) * 1000 / args.checks
            broker = (procstat.cpu_seconds(nats.proc.pid) - n0) * 1000 / args.checks
            print(
                f"cpu round {rnd + 1}: in-process {inproc:.3f} CPU-ms/check | NATS: server side"
                f" {server:.3f} + worker {worker:.3f} + nats-server {broker:.3f} ="
                f" {server + worker + broker:.3f} CPU-ms/check ({args.checks / wall:.0f}"
                f" checks/s at 50 in flight) | load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        await d.stop()
    finally:
        stop_workers(procs)
        nats.stop()
        nginx.stop()


async def rate(args: argparse.Namespace) -> None:
    nginx = Nginx() if args.check == "http" else None
    nats = NatsServer()
    try:
        for count in args.workers:
            prefix = f"b{uuid.uuid4().hex[:8]}"
            procs = start_workers(nats.url, prefix, count, 256)
            try:
                await rate_round(args, nats, prefix, procs, nginx)
            finally:
                stop_workers(procs)
    finally:
        nats.stop()
        if nginx is not None:
            nginx.stop()


async def rate_round(
    args: argparse.Namespace,
    nats: NatsServer,
    prefix: str,
    procs: list[subprocess.Popen[bytes]],
    nginx: Nginx | None,
) -> None:
    make = http_job(nginx.http) if nginx is not None else dummy_job()
    d = await make_dispatch(nats.url, prefix, len(procs))
    total = int(args.rate * args.seconds)
    lateness: list[float] = []
    failed = 0

    async def one(i: int, due: float) -> None:
        nonlocal failed
        offered = d.offer(make(i, due), "default")
        result = None if offered is None else await offered
        if result is None:
            failed += 1
        else:
            lateness.append(max(0.0, result.started_at - due))

    c0 = self_cpu()
    w0 = sum(procstat.cpu_seconds(p.pid) for p in procs)
    n0 = procstat.cpu_seconds(nats.proc.pid)
    start = time.time() + 0.2
    tasks: list[asyncio.Task[None]] = []
    issued = 0
    while issued < total:  # bounded: `total` jobs, issued on their schedule in 5 ms steps
        now = time.time()
        while issued < total and start + issued / args.rate <= now:
            due = start + issued / args.rate
            tasks.append(asyncio.create_task(one(issued, due)))
            issued += 1
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    wall = time.time() - start
    cpu_server = (self_cpu() - c0) * 1000 / total
    cpu_workers = (sum(procstat.cpu_seconds(p.pid) for p in procs) - w0) * 1000 / total
    cpu_nats = (procstat.cpu_seconds(nats.proc.pid) - n0) * 1000 / total
    zone = d.figures().zones[0]
    lateness.sort()
    p = lambda q: lateness[min(len(lateness) - 1, int(len(lateness) * q))] if lateness else 0.0  # noqa: E731
    print(
        f"rate {args.rate}/s x {args.seconds}s, {len(procs)} worker(s), {args.check}:"
        f" {len(lateness) / wall:.0f} checks/s done, lateness p50 {p(0.5) * 1000:.0f} ms"
        f" p99 {p(0.99) * 1000:.0f} ms max {lateness[-1] * 1000 if lateness else 0:.0f} ms,"
        f" redelivered {zone.redelivered}, expired {zone.expired}, unanswered {zone.unanswered},"
        f" unconfirmed {zone.unconfirmed}, not published {zone.ran_here},"
        f" without result {failed} | CPU-ms/check: server side"
        f" {cpu_server:.3f}, workers {cpu_workers:.3f}, nats-server {cpu_nats:.3f}"
        f" | load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    await d.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("parts", nargs="*", default=["cpu", "rate"])
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3]
    )
    parser.add_argument("--check", choices=("http", "dummy"), default="http")
    args = parser.parse_args()
    version = subprocess.run([NATS_BIN, "--version"], capture_output=True, text=True).stdout
    print(
        f"# {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" {version.strip()}"
    )
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if "cpu" in args.parts:
        asyncio.run(cpu(args))
    if "rate" in args.parts:
        asyncio.run(rate(args))


if __name__ == "__main__":
    main()
