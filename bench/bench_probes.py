"""Built-in probes measured end to end inside the real `augenmass run`.

Against a local nginx (child process, 127.0.0.1 only, http + https with a self-signed
certificate, access_log off) and snmpsim serving tests/fixtures/snmp/konica.snmprec. The CPU is
that of the whole augenmass process tree (nginx and snmpsim are not part of it). Every scenario
runs for a fixed, bounded time; reuses run_bench.run_server / write_config and procstat.

Scenarios:
  http       1,000 http checks at 10 s (100 checks/s, far below capacity): CPU-ms per check
  http-rate  2,000 http checks at 1 s (2,000 checks/s asked), 256 slots: throughput, lateness
  http-rate-2500  the same with 2,500 checks/s asked (headroom)
  tls        500 tls certificate checks at 10 s: CPU-ms per check
  printer    200 printer checks at 10 s against snmpsim (konica): CPU-ms per check
  check_http 500 check_http runs at 10 s through our plugin runner: CPU-ms per check
  baseline   1,000 dummy checks at 10 s (no I/O): what scheduler + state engine + store cost
  baseline-rate  2,000 dummy checks at 1 s
  baseline-50 / baseline-20  500 / 200 dummy checks at 10 s (the tls / printer rates)

Usage: python bench/bench_probes.py [SCENARIO ...|all] [--repeat N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import procstat  # noqa: E402,F401  (run_bench reads the tree's CPU through it)
import run_bench  # noqa: E402

ROOT = run_bench.ROOT
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
FIXTURE = ROOT / "tests" / "fixtures" / "snmp" / "konica.snmprec"

NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
user root root;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp_body;
    proxy_temp_path {prefix}/tmp_proxy;
    fastcgi_temp_path {prefix}/tmp_fcgi;
    uwsgi_temp_path {prefix}/tmp_uwsgi;
    scgi_temp_path {prefix}/tmp_scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {prefix}/cert.pem;
        ssl_certificate_key {prefix}/key.pem;
        location / {{ default_type text/plain; return 200 "augenmass bench ok\\n"; }}
    }}
}}
"""

# filled by _checked_keys (wrapped around run_bench.checked_keys): what the checks said
_LAST_STATES: dict[str, Any] = {}


def _checked_keys(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            "SELECT state, count(*), min(output) FROM check_state WHERE service != '' "
            "AND checked GROUP BY state"
        ).fetchall()
    finally:
        con.close()
    _LAST_STATES.clear()
    _LAST_STATES.update({str(s): {"count": n, "sample": o[:160]} for s, n, o in rows})
    return sum(n for _, n, _ in rows)


run_bench.checked_keys = _checked_keys


class Nginx:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="augenmass-nginx-"))
        self.http = run_bench.free_port()
        self.https = run_bench.free_port()
        self.cert = self.dir / "cert.pem"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert),
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.dir, http=self.http, https=self.https))
        self.proc = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(self.dir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import urllib.request

                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.dir / "stderr.log").read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Snmpsim:
    def __init__(self) -> None:
        venv = Path(os.environ.get("SNMPSIM_VENV", ROOT / ".venv-snmpsim"))
        if not (venv / "bin" / "snmpsim-command-responder").exists():
            venv = Path("/opt/augenmass-snmpsim")
        program = venv / "bin" / "snmpsim-command-responder"
        self.dir = Path(tempfile.mkdtemp(prefix="augenmass-snmpsim-"))
        data, cache = self.dir / "data", self.dir / "cache"
        data.mkdir()
        cache.mkdir()
        shutil.copy(FIXTURE, data / FIXTURE.name)
        for path in (self.dir, data, *data.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        cache.chmod(0o777)
        # a free TCP port number; that its UDP twin answers is checked below
        self.port = run_bench.free_port()
        argv = [str(program), f"--cache-dir={cache}", f"--data-dir={data}"]
        if os.geteuid() == 0:
            argv += ["--process-user=nobody", "--process-group=nogroup"]
        argv += [f"--agent-udpv4-endpoint=127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            argv,
            stdout=open(self.dir / "log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.dir / "log").read_text(errors="replace")[-2000:])
            time.sleep(0.3)

    def _answers(self) -> bool:
        import asyncio

        sys.path.insert(0, str(ROOT / "src"))
        from augenmass.probes.snmp.client import Credentials, SnmpClient, SnmpError, Target

        async def probe() -> bool:
            client = SnmpClient()
            try:
                await client.get(
                    Target("127.0.0.1", self.port, 0.3, 0),
                    Credentials("2c", "konica"),
                    ["1.3.6.1.2.1.1.1.0"],
                )
                return True
            except SnmpError:
                return False
            finally:
                client.close()

        return asyncio.run(probe())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


def scenario(
    name: str,
    check: str,
    services: int,
    interval: str,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.yaml"
        per_host = 10
        run_bench.write_config(cfg, services // per_host, per_host, check, interval, concurrency)
        out = run_bench.run_server(cfg, seconds, warmup=warmup)
    return {
        "scenario": name,
        "services": services,
        "interval": interval,
        "max_concurrent_checks": concurrency,
        **out,
        "states": dict(_LAST_STATES),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="*", default=["all"])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    wanted = set(args.scenarios)
    every = "all" in wanted
    seconds = min(args.seconds, 120.0)
    results: list[dict[str, Any]] = []
    nginx = snmpsim = None
    try:
        if every or wanted & {"http", "http-rate", "http-rate-2500", "tls", "check_http"}:
            nginx = Nginx()
        if every or "printer" in wanted:
            snmpsim = Snmpsim()
        plan: list[tuple[str, str, int, str, int, float]] = []
        if nginx is not None:
            http = f"{{type: http, port: {nginx.http}, timeout: 5s}}"
            tls = f"{{type: tls, port: {nginx.https}, ca_file: '{nginx.cert}', timeout: 5s}}"
            plugin = (
                f"{{type: plugin, command: [{CHECK_HTTP}, -H, 127.0.0.1, -p, '{nginx.http}'],"
                " timeout: 10s}"
            )
            plan += [
                ("http", http, 1000, "10s", 256, 12.0),
                # warm-up past the 60 s lateness window: the figure is the steady state only
                ("http-rate", http, 2000, "1s", 256, 65.0),
                ("http-rate-2500", http, 2500, "1s", 256, 65.0),  # headroom above the target
                ("tls", tls, 500, "10s", 256, 12.0),
                ("check_http", plugin, 500, "10s", 256, 12.0),
            ]
        dummy = "{type: dummy, output: bench}"  # no I/O: what scheduler + state + store cost
        plan += [
            ("baseline", dummy, 1000, "10s", 256, 12.0),
            ("baseline-50", dummy, 500, "10s", 256, 12.0),
            ("baseline-20", dummy, 200, "10s", 256, 12.0),
            ("baseline-rate", dummy, 2000, "1s", 256, 65.0),
        ]
        if snmpsim is not None:
            printer = f"{{type: printer, port: {snmpsim.port}, community: konica, timeout: 5s}}"
            plan.append(("printer", printer, 200, "10s", 256, 12.0))
        for name, check, services, interval, slots, warmup in plan:
            if not every and name not in wanted:
                continue
            for run in range(args.repeat):
                res = scenario(name, check, services, interval, slots, seconds, warmup)
                res["run"] = run + 1
                results.append(res)
                print(json.dumps(res), file=sys.stderr, flush=True)
    finally:
        if nginx is not None:
            nginx.stop()
        if snmpsim is not None:
            snmpsim.stop()
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "nginx": subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip(),
    }
    print(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
