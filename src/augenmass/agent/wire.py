"""What goes over the wire between agent and server: checks in, results out (JSON)."""

from __future__ import annotations

from typing import Any

from augenmass.core.perfdata import format_perfdata
from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckKey, CheckResult
from augenmass.scheduler import JobTemplate


def job_of(check: dict[str, Any]) -> JobTemplate:
    spec = CheckSpec(
        type=str(check["type"]),
        command=tuple(check.get("command") or ()),
        options=dict(check.get("options") or {}),
        timeout=float(check.get("timeout", 10.0)),
        timeout_state=int(check.get("timeout_state", 3)),
        exit_code_state=int(check.get("exit_code_state", 3)),
    )
    return JobTemplate(
        key=CheckKey(str(check["host"]), check.get("service")),
        check=spec,
        macros={str(k): str(v) for k, v in (check.get("macros") or {}).items()},
        interval=float(check["interval"]),
        active=bool(check.get("active", True)),
    )


def jobs_of(
    checks: list[dict[str, Any]],
) -> tuple[dict[CheckKey, JobTemplate], dict[CheckKey, float]]:
    """The scheduler's jobs and each key's retry interval (used while a result is a problem)."""
    jobs: dict[CheckKey, JobTemplate] = {}
    retry: dict[CheckKey, float] = {}
    for check in checks:
        job = job_of(check)
        jobs[job.key] = job
        retry[job.key] = float(check.get("retry_interval") or job.interval)
    return jobs, retry


def result_body(result: CheckResult) -> dict[str, Any]:
    """A result as the server's POST /api/agent/results takes it (seq added when sent)."""
    return {
        "host": result.key.host,
        "service": result.key.service,
        "measured_at": result.started_at,
        "duration": round(min(result.duration, 86400.0), 6),
        "exit_status": result.status if 0 <= result.status <= 3 else 3,
        "output": result.output[:65536],
        "long_output": result.long_output[:65536],
        "perfdata": format_perfdata(result.perfdata)[:65536],
        "truncated": result.truncated,
        "notes": [n[:500] for n in result.notes[:20]],
    }
