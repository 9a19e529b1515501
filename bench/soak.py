"""The overload soak: the real server asked for more checks than it can run, for a long,
bounded time, its RSS (server process and probe workers) sampled every 30 s.

    python bench/soak.py [--minutes 30] [--services 10000] [--interval 5s] [--out FILE]
                         [--max-slope MB_PER_MIN]

The configuration is bench/memory.py's (distinct hosts, URLs, options; HTTP and TCP checks
against local listeners, dummy checks with perfdata), with 64 check slots: 10,000 services at
5 s ask for 2,000 checks/s, more than two cores do, so lateness grows and every queue and cache
is under pressure for the whole run. Prints one JSON line per sample, then a Markdown table
(also written to --out) with the growth over the second half: a leak shows as a slope there;
with --max-slope the run fails (exit 1) when that slope is steeper.
Traffic only to 127.0.0.1; the run ends after --minutes whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import memory  # noqa: E402
import procstat  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return 60 * sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def soak(
    minutes: float, services: int, interval: str, every: float, sources: Path
) -> list[dict[str, Any]]:
    http_port, tcp_port = memory.free_port(), memory.free_port()
    listener = subprocess.Popen(
        [sys.executable, "-c", memory.LISTENERS, str(http_port), str(tcp_port)]
        + [str(minutes * 60 + 300)]
    )
    data = Path(tempfile.mkdtemp(prefix="augenmass-soak-"))
    cfg = data.parent / f"{data.name}.yaml"
    memory.write_config(
        cfg, services, http_port, tcp_port, interval=interval, spread=interval, concurrency=64
    )
    port = memory.free_port()
    env = {**os.environ, "PYTHONPATH": str(sources)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "augenmass", "run", "--config", str(cfg), "--data", str(data)]
        + ["--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=open(data / "server.log", "w"),  # noqa: SIM115 - lives as long as the server
        env=env,
    )
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    end = t0 + minutes * 60
    try:
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(every - (now - t0) % every, end - now))
            main, workers = memory.tree_rss(proc.pid)
            try:
                h = memory.health(port)["scheduler"]
            except OSError:
                h = {}
            sample = {
                "t_s": round(time.monotonic() - t0),
                "main_mb": round(main, 1),
                "workers_mb": [round(w, 1) for w in workers],
                "total_mb": round(main + sum(workers), 1),
                "checks_completed": h.get("checks_completed"),
                "queued": h.get("queued"),
                "lateness_p99_s": h.get("lateness_p99"),
                "load": round(os.getloadavg()[0], 2),
            }
            print(json.dumps(sample), flush=True)
            samples.append(sample)
            if proc.poll() is not None:
                print(json.dumps({"server_exited": proc.returncode}), flush=True)
                break
        peak = procstat.peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        listener.terminate()
    shutil.rmtree(data, ignore_errors=True)
    cfg.unlink(missing_ok=True)
    if samples:
        samples[-1]["main_peak_mb"] = round(peak, 1)
    return samples


def table(samples: list[dict[str, Any]], services: int, interval: str, every: float) -> str:
    half = [s for s in samples if s["t_s"] >= samples[-1]["t_s"] / 2]
    total = slope_mb_per_min([(s["t_s"], s["total_mb"]) for s in half])
    main = slope_mb_per_min([(s["t_s"], s["main_mb"]) for s in half])
    rates = [
        (b["checks_completed"] - a["checks_completed"]) / (b["t_s"] - a["t_s"])
        for a, b in zip(samples, samples[1:], strict=False)
        if a["checks_completed"] is not None and b["checks_completed"] is not None
    ]
    lines = [
        f"{services:,} services at {interval}, 64 slots; {len(samples)} samples every {every:g} s; "
        f"second half: total {total:+.3f} MB/min, server process {main:+.3f} MB/min; "
        f"checks/s done (mean) {sum(rates) / len(rates) if rates else 0:.0f}",
        "",
        "| t | server MB | workers MB | total MB | checks done | queued | p99 late s | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in samples:
        lines.append(
            f"| {s['t_s'] // 60}:{s['t_s'] % 60:02d} | {s['main_mb']} | "
            f"{' + '.join(str(w) for w in s['workers_mb']) or '-'} | {s['total_mb']} | "
            f"{s['checks_completed']} | {s['queued']} | "
            f"{round(s['lateness_p99_s'] or 0, 2)} | {s['load']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--interval", default="5s")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    ap.add_argument("--sources", type=Path, default=ROOT / "src", help="PYTHONPATH of the server")
    ap.add_argument(
        "--max-slope",
        type=float,
        default=None,
        help="MB/min: exit 1 when the tree's RSS grew faster over the second half (a leak test)",
    )
    args = ap.parse_args()
    samples = soak(args.minutes, args.services, args.interval, args.every, args.sources)
    text = table(samples, args.services, args.interval, args.every)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    if args.max_slope is not None:
        half = [s for s in samples if s["t_s"] >= samples[-1]["t_s"] / 2] if samples else []
        slope = slope_mb_per_min([(s["t_s"], s["total_mb"]) for s in half])
        if len(half) < 2 or slope > args.max_slope:
            print(f"FAIL: {slope:+.3f} MB/min over the second half (bound {args.max_slope:+.3f})")
            sys.exit(1)
        print(f"flat: {slope:+.3f} MB/min over the second half (bound {args.max_slope:+.3f})")


if __name__ == "__main__":
    main()
