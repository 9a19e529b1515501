"""`augenmass check HOST [SERVICE]`: run one check now, print it plugin-style, change nothing."""

from __future__ import annotations

import difflib

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.perfdata import format_perfdata
from augenmass.core.plan import Plan
from augenmass.core.values import CheckJob, CheckKey, CheckResult, state_name
from augenmass.runner import Runner
from augenmass.runner.macros import build_macros

UNKNOWN = 3


def format_result(result: CheckResult) -> str:
    name = state_name(min(max(result.status, 0), 3), False)
    # Plugins and probes name their state themselves ("DISK OK - ..."); say it only if not.
    line = result.output if name in result.output[:40] else f"{name} - {result.output}"
    if result.perfdata:
        line += f" | {format_perfdata(result.perfdata)}"
    if result.long_output:
        line += "\n" + result.long_output
    return line


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


async def run_once(
    plan: Plan, host: str, service: str | None, clock: Clock | None = None
) -> tuple[int, str]:
    if host not in plan.hosts:
        return (
            UNKNOWN,
            f"UNKNOWN - no host {host!r} in the config{_suggest(host, list(plan.hosts))}",
        )
    hplan = plan.hosts[host]
    if service is None:
        if hplan.check is None:
            return 0, f"OK - host {host} has no check; it is assumed UP"
        spec, svc = hplan.check, None
    else:
        key = CheckKey(host, service)
        if key not in plan.services:
            names = [s.name for s in plan.services_of(host)]
            return UNKNOWN, (
                f"UNKNOWN - host {host!r} has no service {service!r}{_suggest(service, names)}"
            )
        svc = plan.services[key]
        spec = svc.check
    clock = clock or SystemClock()
    runner = Runner(plan.settings.plugin_dirs, plan.settings.output_limit, clock=clock)
    job = CheckJob(CheckKey(host, service), spec, build_macros(hplan, svc, spec), clock.now())
    result = await runner.run(job)
    text = format_result(result)
    if svc is None and hplan.default_check:  # not in the host's own config: say where from
        text += f"\n(host {host} names no check: settings.default_host_check, {spec.type})"
    return min(max(result.status, 0), 3), text
