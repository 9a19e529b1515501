"""What goes over NATS between the server and its workers: names, jobs and results (JSON).

A job carries everything its check needs (the check, its macros, plugin directories, the
output limit, its deadline), so a worker has no config of its own. Jobs and results are
untrusted on the receiving side: a malformed one is a `WireError`, never a crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey, CheckResult, PerfDatum, shared_text

VERSION = 1
MSG_ID = "Nats-Msg-Id"  # JetStream's duplicate detection: a job id is published once
MAX_TEXT = 65536
MAX_NOTES = 20


class WireError(ValueError):
    """A message that is not what the other side should have sent."""


# --- names ------------------------------------------------------------------------------------


def jobs_stream(prefix: str) -> str:
    return f"{prefix}_jobs"


def results_stream(prefix: str) -> str:
    return f"{prefix}_results"


def jobs_subject(prefix: str, zone: str) -> str:
    return f"{prefix}.jobs.{zone}"


def results_subject(prefix: str, zone: str, server: str) -> str:
    """Where a worker of `zone` stores its answers to the jobs of server (process) `server`:
    each server takes only its own answers, so a standby server that also runs never takes
    the answers the active one waits for."""
    return f"{prefix}.results.{zone}.{server}"


def results_consumer(server: str) -> str:
    return f"server-{server}"


def is_token(value: str) -> bool:
    return bool(_TOKEN.fullmatch(value))


def workers_subject(prefix: str, zone: str) -> str:
    return f"{prefix}.workers.{zone}"


def jobs_consumer(zone: str) -> str:
    return f"jobs-{zone}"


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def inbox_prefix(prefix: str, zone: str) -> str:
    """A worker's replies come to its zone's own inboxes: a worker of another zone may not
    subscribe there (the nats-server permissions in docs/workers.md), so it cannot read the
    jobs (and their secrets) delivered to this zone's workers."""
    return f"_INBOX_{prefix}_{zone}"


def safe_url(url: str) -> str:
    """The NATS URL without its password or token, for log lines."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username if parts.password is not None else "***"
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, "", ""))


# --- jobs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    zone: str
    server: str  # the id of the server process that waits for the answer
    job: CheckJob
    expires_at: float  # wall clock: a worker that takes it later runs nothing
    ack_wait: float  # the consumer's: a running job signals "in progress" more often
    plugin_dirs: tuple[str, ...]
    output_limit: int


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    return value


def encode_job(job: Job) -> bytes:
    spec: CheckSpec = job.job.check
    return orjson.dumps(
        {
            "v": VERSION,
            "id": job.id,
            "zone": job.zone,
            "server": job.server,
            "host": job.job.key.host,
            "service": job.job.key.service,
            "check": {
                "type": spec.type,
                "command": list(spec.command),
                "options": _plain(spec.options),
                "timeout": spec.timeout,
                "timeout_state": spec.timeout_state,
                "exit_code_state": spec.exit_code_state,
            },
            "macros": dict(job.job.macros),
            "due_at": job.job.due_at,
            "expires_at": job.expires_at,
            "ack_wait": job.ack_wait,
            "plugin_dirs": list(job.plugin_dirs),
            "output_limit": job.output_limit,
        }
    )


def decode_job(data: bytes) -> Job:
    try:
        raw = orjson.loads(data)
        if raw.get("v") != VERSION:
            raise WireError(f"job of wire version {raw.get('v')!r}, this worker speaks {VERSION}")
        check = raw["check"]
        spec = CheckSpec(
            type=_text(check["type"]),
            command=tuple(_text(a) for a in check.get("command") or ()),
            options=dict(check.get("options") or {}),
            timeout=_number(check["timeout"]),
            timeout_state=int(check.get("timeout_state", 3)),
            exit_code_state=int(check.get("exit_code_state", 3)),
        )
        key = CheckKey(
            _text(raw["host"]), None if raw["service"] is None else _text(raw["service"])
        )
        macros = {_text(k): _text(v) for k, v in (raw.get("macros") or {}).items()}
        server = _text(raw["server"])
        if not is_token(server):
            raise WireError("job names no valid server")
        return Job(
            id=_text(raw["id"]),
            zone=_text(raw["zone"]),
            server=server,
            job=CheckJob(key, spec, macros, due_at=_number(raw["due_at"])),
            expires_at=_number(raw["expires_at"]),
            ack_wait=_number(raw["ack_wait"]),
            plugin_dirs=tuple(_text(d) for d in raw.get("plugin_dirs") or ()),
            output_limit=int(raw.get("output_limit", MAX_TEXT)),
        )
    except WireError:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"not a job: {type(exc).__name__}") from None


# --- results ----------------------------------------------------------------------------------

RESULT = "result"
EXPIRED = "expired"  # taken after its deadline: acknowledged, not run


@dataclass(frozen=True, slots=True)
class Answer:
    """A worker's answer to one job: its result, or that it came too late to run."""

    id: str
    kind: str  # RESULT | EXPIRED
    worker: str
    deliveries: int  # 1: the first worker took it; more: it was handed out again
    result: CheckResult | None = None


def encode_answer(answer: Answer) -> bytes:
    body: dict[str, Any] = {
        "v": VERSION,
        "id": answer.id,
        "kind": answer.kind,
        "worker": answer.worker,
        "deliveries": answer.deliveries,
    }
    r = answer.result
    if r is not None:
        body["result"] = {
            "host": r.key.host,
            "service": r.key.service,
            "status": r.status,
            "output": r.output[:MAX_TEXT],
            "long_output": r.long_output[:MAX_TEXT],
            "perfdata": [
                [p.label, p.value, p.uom, p.warn, p.crit, p.min, p.max] for p in r.perfdata
            ],
            "started_at": r.started_at,
            "duration": r.duration,
            "truncated": r.truncated,
            "notes": [n[:500] for n in r.notes[:MAX_NOTES]],
        }
    return orjson.dumps(body)


def decode_answer(data: bytes) -> Answer:
    try:
        raw = orjson.loads(data)
        if raw.get("v") != VERSION:
            raise WireError(f"answer of wire version {raw.get('v')!r}")
        kind = raw["kind"]
        if kind not in (RESULT, EXPIRED):
            raise WireError(f"unknown answer kind {kind!r}")
        worker = _text(raw["worker"])[:200]
        result = None
        if kind == RESULT:
            body = raw["result"]
            status = int(body["status"])
            if not 0 <= status <= 3:
                raise WireError(f"status {status} outside 0..3")
            result = CheckResult(
                key=CheckKey(
                    _text(body["host"]),
                    None if body["service"] is None else _text(body["service"]),
                ),
                status=status,
                output=_text(body["output"])[:MAX_TEXT],
                long_output=_text(body["long_output"])[:MAX_TEXT],
                perfdata=tuple(_perf(p) for p in body["perfdata"]),
                started_at=_number(body["started_at"]),
                duration=max(0.0, _number(body["duration"])),
                source=f"worker:{worker}",
                truncated=bool(body["truncated"]),
                notes=tuple(_text(n)[:500] for n in body["notes"][:MAX_NOTES]),
            )
        return Answer(_text(raw["id"]), kind, worker, int(raw["deliveries"]), result)
    except WireError:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"not an answer: {type(exc).__name__}") from None


def _perf(raw: list[Any]) -> PerfDatum:
    label, value, uom, warn, crit, low, high = raw
    return PerfDatum(
        shared_text(_text(label)),
        None if value is None else _number(value),
        shared_text(_text(uom)),
        None if warn is None else shared_text(_text(warn)),
        None if crit is None else shared_text(_text(crit)),
        None if low is None else _number(low),
        None if high is None else _number(high),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError(f"expected text, got {type(value).__name__}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(f"expected a finite number, got {type(value).__name__}")
    return float(value)


# --- heartbeats -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Beat:
    """A worker's heartbeat: it is alive, how busy it is and how loaded its machine."""

    worker: str
    zone: str
    running: int
    slots: int
    done: int
    load1: float


def encode_beat(beat: Beat) -> bytes:
    return orjson.dumps(
        {
            "v": VERSION,
            "worker": beat.worker,
            "zone": beat.zone,
            "running": beat.running,
            "slots": beat.slots,
            "done": beat.done,
            "load1": beat.load1,
        }
    )


def decode_beat(data: bytes) -> Beat:
    try:
        raw = orjson.loads(data)
        return Beat(
            _text(raw["worker"])[:200],
            _text(raw["zone"]),
            int(raw["running"]),
            max(1, int(raw["slots"])),
            int(raw["done"]),
            _number(raw["load1"]),
        )
    except WireError:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WireError(f"not a heartbeat: {type(exc).__name__}") from None
