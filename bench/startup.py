"""Start-up at 10,000 and 50,000 hosts (issue 17): config load by layer, `check-config`,
`augenmass run` from spawn to the first check, and the scheduler's lateness during a reload.

The config has the issue's shape: one line per host (`{address: ..., use: ..., tags: [a, b]}`),
two services per host — one from an apply rule (`hosts: {tag: linux}`), one written per host
with its own URL (and, on every tenth, its own thresholds) — so 10,000 hosts carry 20,000
services. Host checks and applied checks are TCP connects to the host's loopback address
(127.x.y.z); the written HTTP checks go to a small HTTP server this script runs on 127.0.0.1,
which notes when the first request arrives. Nothing leaves the machine.

    python bench/startup.py load --hosts 10000 50000     # YAML, sections, resolve; check-config
    python bench/startup.py run --hosts 10000            # spawn -> first check; RSS
    python bench/startup.py reload --hosts 10000         # lateness p99 before / during reloads
    python bench/startup.py profile --hosts 10000        # cProfile of one load_config

Every measurement runs in a fresh process; each loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SITE = 100  # hosts per site tag

HEAD = """\
settings:
  timezone: Europe/Berlin
  max_concurrent_checks: 256
  max_check_spread: {spread}
  self_metrics_interval: {metrics}

defaults:
  check_interval: 5m
  retry_interval: 1m
  max_check_attempts: 3
  notify: [ops]

contacts:
  alice: {{email: alice@example.org}}
  bob: {{email: bob@example.org, language: de}}
contact_groups:
  ops: [alice, bob]
  web-team: [bob]

templates:
  linux-server:
    check: {{type: tcp, port: 22, timeout: 5s}}
    check_interval: 5m
    groups: [linux-servers]
  web-server: {{use: linux-server, notify: [web-team], vars: {{vhost: www.example.org}}}}
  website:
    check_interval: 5m
    retry_interval: 1m
    notification_period: 24x7

services:
  - name: ssh
    hosts: {{tag: linux}}
    check: {{type: tcp, port: 22, expect: [SSH-], warning: "1", critical: "3"}}
"""


def address(number: int) -> str:
    # loopback only: a run of this config connects to 127.x.y.z and nowhere else
    return f"127.{(number >> 16) & 255}.{(number >> 8) & 255}.{(number & 255) or 1}"


def host_name(number: int) -> str:
    return f"h{number:06d}.site{number // SITE:04d}"


def write_config(
    path: Path,
    hosts: int,
    port: int = 9,
    spread: str = "60s",
    local: bool = False,
    interval: str = "5m",
) -> Path:
    """A config of `hosts` hosts and 2 x `hosts` services at `path` (one file). `local`: every
    check goes to the target at 127.0.0.1:`port` (hosts and applied checks connect there), so
    that all of them succeed: 30,000 checks every 5 minutes are 100 a second. `interval`: of
    every check (a busy machine cannot keep up with 100 a second)."""
    head = HEAD.format(spread=spread, metrics="1h" if local else "10s")
    if local:
        ssh = 'check: {type: tcp, port: 22, expect: [SSH-], warning: "1", critical: "3"}'
        assert ssh in head
        head = head.replace(ssh, f"check: {{type: tcp, host: 127.0.0.1, port: {port}}}")
        head = head.replace(
            "check: {type: tcp, port: 22, timeout: 5s}",
            f"check: {{type: tcp, host: 127.0.0.1, port: {port}, timeout: 5s}}",
        )
    if interval != "5m":
        head = head.replace("check_interval: 5m", f"check_interval: {interval}")
    lines = [head]
    for number in range(hosts):
        name = host_name(number)
        lines.append(
            f"  - {{name: web, host: {name}, use: website, check: {{type: http, "
            f'url: "http://127.0.0.1:{port}/{name}/health", contains: ok'
            + _thresholds(number)
            + "}}"
        )
    lines.append("hosts:")
    for number in range(hosts):
        use = "web-server" if number % 3 == 0 else "linux-server"
        lines.append(
            f"  {host_name(number)}: {{address: {address(number)}, use: {use}, "
            f"tags: [linux, site{number // SITE:04d}]}}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _thresholds(number: int) -> str:
    # every tenth web check has thresholds of its own, as a real config has a few
    if number % 10:
        return ""
    return f', warning: "{1 + number % 7}", critical: "{5 + number % 5}"'


# ---- load: each layer in a fresh process ------------------------------------------------------

_LOAD_CHILD = r"""
import gc, json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter(); c0 = time.process_time()
from augenmass.config import load_config
from augenmass.config.yamlload import Budget, load_yaml
from augenmass.config.sections import collect
from augenmass.config.resolve import Resolver
imported = time.perf_counter() - t0
path = Path(sys.argv[1])
gc.disable()
out = {"import": imported}
t = time.perf_counter(); c = time.process_time()
yf, problems = load_yaml(path, path.name, Budget())
out["yaml"] = time.process_time() - c
c = time.process_time()
problems = []
sections = collect([yf], problems)
out["sections"] = time.process_time() - c
c = time.process_time()
built = Resolver(sections, problems).plan()
out["resolve"] = time.process_time() - c
assert not problems, problems[:3]
gc.enable()
del yf, sections, built
c = time.process_time(); t = time.perf_counter()
plan = load_config(path)
out["load_config_cpu"] = time.process_time() - c
out["load_config_wall"] = time.perf_counter() - t
out["hosts"] = len(plan.hosts); out["services"] = len(plan.services)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
out["rss_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(out))
"""


def measure_load(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _LOAD_CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def check_config(path: Path) -> tuple[float, float]:
    """`augenmass check-config` as a user runs it: wall and CPU (user + system) of the process."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "augenmass", "check-config", str(path)],
        capture_output=True,
        check=True,
        timeout=600,
    )
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


# ---- run: spawn -> first check at the local target --------------------------------------------


class Target:
    """An HTTP server on 127.0.0.1 answering every request `200 ok`; notes the first one."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        except asyncio.CancelledError:  # the bench ends with connections open: not an error
            writer.close()
            return
        if self.first is None:
            self.first = time.perf_counter()
        self.requests += 1
        del head
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        with _quiet():
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _spawn(config: Path, data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "augenmass",
            "run",
            "--config",
            str(config),
            "--data",
            str(data),
            "--listen",
            "127.0.0.1:0",
            "--log-level",
            "info",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(data.parent / f"{data.name}.log", "ab"),  # noqa: SIM115 - the child's
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def _log_line(log: Path, message: str, deadline: float) -> dict[str, object] | None:
    """The first JSON/logfmt line of `log` with msg=`message`, waiting until `deadline`."""
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if f"msg={message} " in line or f"msg={message}" == line.split(" ")[-1]:
                return dict(part.split("=", 1) for part in line.split(" ") if "=" in part)  # type: ignore[return-value]
        time.sleep(0.05)
    return None


async def measure_run(tmp: Path, hosts: int, restart: bool) -> dict[str, float]:
    """Spawn the server on a fresh (or, with `restart`, an already used) data directory and
    wait for the first request at the target: seconds from spawn, and the RSS then."""
    target = Target()
    await target.start()
    config = write_config(tmp / f"run{hosts}.yaml", hosts, target.port, spread="60s")
    data = tmp / f"data{hosts}"
    if restart and not data.exists():  # a first run to leave states and a store behind
        proc = _spawn(config, data)
        await _until(lambda: target.first is not None, 120)
        await asyncio.sleep(5)
        _stop(proc)
        target.first = None
    log = data.parent / f"{data.name}.log"
    log.write_text("")
    spawned = time.perf_counter()
    proc = _spawn(config, data)
    try:
        await _until(lambda: target.first is not None, 120)
        first = (target.first or float("nan")) - spawned
        rss = _rss_mb(proc.pid)
        started = _log_line(log, "started", time.monotonic() + 30) or {}
    finally:
        _stop(proc)
        await target.stop()
    out = {"first_check": first, "rss_mb": rss}
    for key, value in started.items():
        if key.endswith("_s"):
            out[key] = float(str(value))
    return out


async def _until(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {seconds} s")
        await asyncio.sleep(0.005)


# ---- reload: scheduler lateness and event-loop stalls around a reload ---------------------------

_RELOAD_CHILD = r"""
import asyncio, json, statistics, sys, time
from pathlib import Path
from augenmass.core.logfmt import setup_logging
from augenmass.server.server import Server
import logging
setup_logging("warning")
seen = []  # the "reloaded" lines' fields: load_s (in a thread), apply_s (on the loop)
class Keep(logging.Handler):
    def emit(self, record):
        if record.getMessage() == "reloaded":
            seen.append({k: v for k, v in vars(record).items() if k.endswith("_s")})
logging.getLogger("augenmass.server").addHandler(Keep(logging.INFO))
logging.getLogger("augenmass.server").setLevel(logging.INFO)
import uvloop
uvloop.install()
config, data = Path(sys.argv[1]), Path(sys.argv[2])
quiet, reloads, after = map(float, sys.argv[3:6])

def p99(samples):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else float("nan")

async def main():
    server = Server(config, data, None)
    await server.start()
    lags = []  # (when, how much later than asked a 10 ms sleep woke up)
    async def monitor():
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            lags.append((now, now - asked - 0.01))
    watch = asyncio.create_task(monitor())
    out = {}
    await asyncio.sleep(quiet / 2)
    server.scheduler.pop_lateness_samples()
    since = time.perf_counter()
    await asyncio.sleep(quiet / 2)
    late = server.scheduler.pop_lateness_samples()
    out["quiet_checks"] = len(late)
    out["quiet_late_p99"] = p99(late)
    out["quiet_late_max"] = max(late, default=float("nan"))
    out["quiet_stall_max"] = max((lag for t, lag in lags if t >= since), default=float("nan"))
    names = ("reload_late_p99", "reload_late_max", "reload_stall_max", "reload_s")
    worst = dict.fromkeys(names, 0.0)
    for _ in range(int(reloads)):
        server.scheduler.pop_lateness_samples()
        since = time.perf_counter()
        ok = await server.reload()
        took = time.perf_counter() - since
        assert ok
        await asyncio.sleep(after)
        late = server.scheduler.pop_lateness_samples()
        stall = max((lag for t, lag in lags if t >= since), default=float("nan"))
        for key, value in (("reload_late_p99", p99(late)), ("reload_late_max", max(late)),
                           ("reload_stall_max", stall), ("reload_s", took)):
            worst[key] = max(worst[key], value)
        out["reload_checks"] = len(late)
    out.update(worst)
    for key in ("load_s", "apply_s"):
        out["reload_" + key] = max((line.get(key, float("nan")) for line in seen), default=0.0)
    watch.cancel()
    await server.stop()
    print(json.dumps(out))

asyncio.run(main())
"""


async def measure_reload(
    tmp: Path, hosts: int, reloads: int, interval: str = "5m"
) -> dict[str, float]:
    """A server (in a child process) with every check answered by the local target: the
    scheduler's lateness (p99, max) and the longest event-loop stall, first while nothing
    happens, then in the seconds after each of `reloads` reloads of the same config."""
    target = Target()
    await target.start()
    config = write_config(
        # spread over the whole interval: a steady rate from the start (spread over 60 s, every
        # check of a 5-minute interval would come in the first minute, and again in the sixth)
        tmp / f"reload{hosts}.yaml",
        hosts,
        target.port,
        interval,
        True,
        interval,
    )
    data = tmp / f"rdata{hosts}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RELOAD_CHILD,
        str(config),
        str(data),
        "40",
        str(reloads),
        "10",
        stdout=subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
    finally:
        if proc.returncode is None:
            proc.kill()
        await target.stop()
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("load", "run", "reload", "profile", "write"))
    parser.add_argument("--hosts", type=int, nargs="*", default=[10_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--restart", action="store_true", help="run: on a used data directory")
    parser.add_argument("--interval", default="5m", help="reload: every check's interval")
    parser.add_argument("--output", type=Path, help="write: where the config goes")
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}; {_uptime()}")
    with tempfile.TemporaryDirectory(prefix="augenmass-startup-") as name:
        tmp = Path(name)
        for hosts in args.hosts:
            if args.what == "write":
                write_config(args.output or Path(f"startup-{hosts}.yaml"), hosts)
                continue
            if args.what == "profile":
                _profile(write_config(tmp / f"c{hosts}.yaml", hosts))
                continue
            if args.what == "load":
                path = write_config(tmp / f"c{hosts}.yaml", hosts)
                runs = [measure_load(path) for _ in range(max(1, args.runs))]
                checks = [check_config(path) for _ in range(max(1, args.runs))]
                best = {k: min(float(r[k]) for r in runs) for k in runs[0]}
                print(
                    f"{hosts:,} hosts, {int(best['services']):,} services, "
                    f"{path.stat().st_size / 1e6:.1f} MB: CPU yaml {best['yaml']:.2f} s, "
                    f"sections {best['sections']:.2f} s, resolve {best['resolve']:.2f} s; "
                    f"load_config {best['load_config_cpu']:.2f} s CPU "
                    f"({best['load_config_wall']:.2f} s wall), import {best['import']:.2f} s, "
                    f"peak RSS {max(r['rss_mb'] for r in runs):.0f} MB; check-config "
                    f"{min(c[0] for c in checks):.2f} s wall "
                    f"(worst {max(c[0] for c in checks):.2f}), "
                    f"{min(c[1] for c in checks):.2f} s CPU"
                )
            elif args.what == "run":
                for _ in range(max(1, args.runs)):
                    result = asyncio.run(measure_run(tmp, hosts, args.restart))
                    print(f"{hosts:,} hosts: {_rounded(result)}")
            elif args.what == "reload":
                result = asyncio.run(measure_reload(tmp, hosts, args.runs, args.interval))
                print(f"{hosts:,} hosts: {_rounded(result)}")


def _rounded(result: dict[str, float]) -> str:
    return json.dumps({k: round(v, 3) for k, v in result.items()})


def _profile(path: Path) -> None:
    import cProfile
    import pstats

    from augenmass.config import load_config

    profiler = cProfile.Profile()
    profiler.enable()
    load_config(path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def _uptime() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
