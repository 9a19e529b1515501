"""Set-up problems that would make every check of a kind fail alike, said once in the log.

An icmp check that cannot open its socket is UNKNOWN with the reason (a host then counts as
DOWN): with the default host check that is every host at once. The log says so at start and
on a reload, with what to fix, before the first check runs."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from augenmass.probes.icmp import FIX, socket_problem
from augenmass.scheduler import JobTemplate

log = logging.getLogger("augenmass.server")


def check_icmp(jobs: Iterable[JobTemplate]) -> list[str]:
    """The problems found (logged as errors); empty when no icmp check runs or all can."""
    modes: dict[bool | None, int] = {}
    for job in jobs:
        if job.active and job.check.type == "icmp":
            mode = job.check.options.get("privileged")
            key = None if mode is None or mode == "" else bool(mode)
            modes[key] = modes.get(key, 0) + 1
    problems = []
    for mode, count in modes.items():
        problem = socket_problem(mode)
        if problem is None:
            continue
        problems.append(problem)
        log.error(
            "icmp checks cannot open their socket: they report UNKNOWN, a host checked by"
            " ping counts as DOWN",
            extra={"checks": count, "reason": problem, "fix": FIX},
        )
    return problems
