"""The `http` probe alone, in process: CPU-ms per check against a local nginx.

Runs HttpProbe.run the way the runner does (under uvloop, a fresh options dict per check holding
every option of the dumped config model, macros expanded) a bounded number of times, one at a
time and with 50 at once, and reports the user and system CPU time of this process per run
(getrusage; nginx is a separate process, so it is not counted). CPU time, not wall time: other
load on the machine slows a round down but hardly changes its CPU. Each round is repeated; all
are printed, then the minimum and the median.

Usage: python bench/bench_http_probe.py [--runs 3000] [--concurrency 1,50] [--rounds 5] [--tls]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import bench_probes  # noqa: E402

WARMUP = 200  # runs before measuring: first-use imports, the options memo, loop internals


async def _round(
    options: dict[str, Any], runs: int, concurrency: int
) -> tuple[float, float, dict[int, int]]:
    """CPU-ms per run (user, system) and how many runs ended in each state."""
    from augenmass.probes.http import HttpProbe

    probe = HttpProbe()
    states: dict[int, int] = {}
    left = 0

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            outcome = await probe.run(dict(options), 5.0)  # a fresh dict, as from the runner
            states[outcome.status] = states.get(outcome.status, 0) + 1

    left = WARMUP
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    left = runs
    states.clear()
    start = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    end = resource.getrusage(resource.RUSAGE_SELF)
    user = (end.ru_utime - start.ru_utime) * 1000 / runs
    system = (end.ru_stime - start.ru_stime) * 1000 / runs
    return user, system, states


def _runner_options(given: dict[str, Any]) -> dict[str, Any]:
    """What the runner hands the probe: the config's validated model dumped into
    CheckSpec.options (every field, defaults included), then macros expanded."""
    from augenmass.config.checks import SPEC_FIELDS
    from augenmass.probes.http import HttpProbe
    from augenmass.runner.macros import expand_options

    dumped = HttpProbe.Options.model_validate(given).model_dump(
        mode="json", exclude=set(SPEC_FIELDS)
    )
    return expand_options({**HttpProbe.defaults, **dumped}, {"HOSTADDRESS": "127.0.0.1"}, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--concurrency", default="1,50", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tls", action="store_true", help="https against nginx's TLS port")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 20_000))  # bounded: a round stays within seconds
    rounds = max(1, min(args.rounds, 20))
    levels = [max(1, min(int(c), 500)) for c in args.concurrency.split(",")]

    import uvloop

    nginx = bench_probes.Nginx()
    try:
        given: dict[str, Any] = {"port": nginx.http, "timeout": "5s"}
        if args.tls:
            given.update(port=nginx.https, tls=True, ca_file=str(nginx.cert))
        options = _runner_options(given)
        for concurrency in levels:
            figures = []
            for _ in range(rounds):
                user, system, states = uvloop.run(_round(options, runs, concurrency))
                figures.append(user + system)
                print(
                    f"concurrency {concurrency:3d}: {user + system:.3f} CPU-ms per check "
                    f"(user {user:.3f}, sys {system:.3f})  states {states}",
                    flush=True,
                )
            figures.sort()
            print(
                f"concurrency {concurrency:3d}: min {figures[0]:.3f}  "
                f"median {figures[len(figures) // 2]:.3f} CPU-ms per check"
            )
    finally:
        nginx.stop()


if __name__ == "__main__":
    main()
