"""Shared parts of the agent and passive-result benches: a real `augenmass run` and
`augenmass agent` on 127.0.0.1, tokens, and /proc figures. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-m", "augenmass"]
LIMIT = 60.0  # the longest any start-up wait may take


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], profile: Path | None = None) -> subprocess.Popen[bytes]:
    # cProfile writes its file when the process ends (the server ends on SIGTERM)
    prefix = [] if profile is None else ["-m", "cProfile", "-o", str(profile)]
    return subprocess.Popen(
        [CLI[0], *prefix, *CLI[1:], *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_server(
    config: Path, data: Path, port: int, profile: Path | None = None
) -> subprocess.Popen[bytes]:
    proc = spawn(
        ["run", "--config", str(config), "--data", str(data), "--listen", f"127.0.0.1:{port}"],
        profile,
    )
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError("server did not answer within the limit")


def token(data: Path, name: str, *extra: str) -> str:
    return subprocess.run(
        [*CLI, "token", "create", name, *extra, "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
        timeout=LIMIT,
    ).stdout.strip()


def start_agent(port: int, token_file: Path, data: Path) -> subprocess.Popen[bytes]:
    return spawn(
        [
            "agent",
            "--server",
            f"http://127.0.0.1:{port}",
            "--token-file",
            str(token_file),
            "--data",
            str(data),
        ]
    )


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def health(port: int) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
    return answer


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (not its children), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"nproc {os.cpu_count()}, Python {sys.version.split()[0]}, load average {load}"


def points(data: Path, host: str) -> int:
    """Performance data points stored at the server for `host` (one per result here)."""
    db = sqlite3.connect(f"file:{data / 'augenmass.db'}?mode=ro", uri=True, timeout=30)
    try:
        row = db.execute(
            "SELECT count(*) FROM point JOIN series ON series.id = point.series_id"
            " WHERE series.host = ?",
            (host,),
        ).fetchone()
        return int(row[0])
    finally:
        db.close()
