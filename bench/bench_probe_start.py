"""`augenmass probe` as a Nagios plugin: CPU per call, against the monitoring-plugins.

Runs each command N times one after another (as Nagios would, one plugin per check) against
a local HTTP server this script starts on 127.0.0.1, and counts the CPU of everything the call
costs: the calling process (rusage of reaped children) and, for the resident server, the
process it forks per call (the server's reaped children, from /proc). With hyperfine
installed, its figures for the callers are printed as well.

    .venv/bin/python bench/bench_probe_start.py [--runs 100]
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from procstat import cpu_seconds  # noqa: E402

PLUGINS = Path("/usr/lib/nagios/plugins")
AUGENMASS = [sys.executable, "-m", "augenmass", "probe"]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _servers(run_dir: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"augenmass.cli.probeserver" in argv and run_dir.encode() in argv:
                found.append(int(entry.name))
    return found


def measure(name: str, argv: list[str], env: dict[str, str], runs: int, run_dir: str) -> None:
    for _ in range(3):  # warm: caches, and the resident server started
        subprocess.run(argv, env=env, capture_output=True, check=False)
    deadline = time.monotonic() + 20
    while "RESIDENT" in name and not _servers(run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    servers = _servers(run_dir) if "RESIDENT" in name else []
    server_before = sum(cpu_seconds(pid) for pid in servers)
    before, wall = _children_cpu(), time.monotonic()
    codes = set()
    for _ in range(runs):
        codes.add(subprocess.run(argv, env=env, capture_output=True, check=False).returncode)
    wall = time.monotonic() - wall
    caller = (_children_cpu() - before) / runs * 1000
    forked = (sum(cpu_seconds(pid) for pid in servers) - server_before) / runs * 1000
    print(
        f"| {name} | {caller:.1f} | {forked:.1f} | **{caller + forked:.1f}** |"
        f" {wall / runs * 1000:.1f} | {sorted(codes)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = str(httpd.server_address[1])
    run_dir = tempfile.mkdtemp(prefix="probe-bench-")
    base = dict(os.environ, XDG_RUNTIME_DIR=run_dir, AUGENMASS_PROBE_IDLE="120")
    resident = dict(base, AUGENMASS_PROBE_RESIDENT="1")
    in_process = dict(base, AUGENMASS_PROBE_RESIDENT="0")
    url = f"http://127.0.0.1:{port}/"
    cases = [
        ("check_tcp", [str(PLUGINS / "check_tcp"), "-H", "127.0.0.1", "-p", port], base),
        ("check_http", [str(PLUGINS / "check_http"), "-I", "127.0.0.1", "-p", port], base),
        (
            "augenmass probe tcp, RESIDENT",
            [*AUGENMASS, "tcp", "-H", "127.0.0.1", "-p", port],
            resident,
        ),
        ("augenmass probe http, RESIDENT", [*AUGENMASS, "http", "--url", url], resident),
        (
            "augenmass probe tcp, in-process",
            [*AUGENMASS, "tcp", "-H", "127.0.0.1", "-p", port],
            in_process,
        ),
        ("augenmass probe http, in-process", [*AUGENMASS, "http", "--url", url], in_process),
    ]
    print(f"{args.runs} calls each, one after another; load before: {os.getloadavg()[0]:.2f}")
    print("| command | caller CPU ms | forked call CPU ms | total CPU ms | wall ms | exit codes |")
    print("|---|---|---|---|---|---|")
    try:
        for name, argv, env in cases:
            if Path(argv[0]).exists():
                measure(name, argv, env, args.runs, run_dir)
        if shutil.which("hyperfine"):
            tcp = " ".join(cases[2][1])
            subprocess.run(
                [
                    "hyperfine",
                    "-N",
                    "-w",
                    "5",
                    "-r",
                    "50",
                    "--command-name",
                    "check_tcp",
                    " ".join(cases[0][1]),
                    "--command-name",
                    "augenmass probe tcp (caller only)",
                    f"env XDG_RUNTIME_DIR={run_dir} AUGENMASS_PROBE_RESIDENT=1 {tcp}",
                ],
                check=False,
            )
    finally:
        for pid in _servers(run_dir):
            os.kill(pid, 15)
        httpd.shutdown()
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
