"""Ping URLs of dead-man checks, for `curl` at the end of a cron job:

    /ping/KEY         the job ran: OK (the body, if any, is the output)
    /ping/KEY/fail    the job failed: CRITICAL
    /ping/KEY/start   the job starts: no state change; the next ping reports the run time

GET or POST. The key is the check's secret (config `ping_key`); it is looked up by its SHA-256,
so the work does not depend on how much of a guess is right, and an unknown key is a plain 404.
Like every request, a ping stores nothing of its sender. A key is rate limited, so a job
looping on curl cannot flood the store.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from augenmass.api import actions
from augenmass.api.deps import get_control
from augenmass.core.plan import Plan
from augenmass.core.values import CheckKey

if TYPE_CHECKING:
    from augenmass.control import ServerControl

router = APIRouter(prefix="/ping", include_in_schema=False)
MAX_BODY = 10 * 1024  # of a POST body, the first 10 kB are the output
BURST = 10  # pings in a row a key may send ...
REFILL = 6.0  # ... and then one per this many seconds (10 a minute)
MAX_START_AGE = 7 * 86400.0  # a start older than this is forgotten: no made-up run times


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class _PingState:
    plan: Plan | None = None
    index: dict[str, tuple[CheckKey, str]] = field(default_factory=dict)  # digest -> key, secret
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    starts: dict[str, float] = field(default_factory=dict)  # digest -> wall time of /start


_states: weakref.WeakKeyDictionary[ServerControl, _PingState] = weakref.WeakKeyDictionary()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _state(control: ServerControl) -> _PingState:
    st = _states.get(control)
    if st is None:
        st = _states[control] = _PingState()
    plan = control.plan
    if st.plan is not plan:  # first ping, or a reload: keys may have changed
        st.plan = plan
        st.index = {
            _digest(s.ping_key): (s.key, s.ping_key) for s in plan.services.values() if s.ping_key
        }
        st.buckets = {d: b for d, b in st.buckets.items() if d in st.index}
        st.starts = {d: t for d, t in st.starts.items() if d in st.index}
    return st


def _lookup(st: _PingState, secret: str) -> tuple[str, CheckKey] | None:
    digest = _digest(secret[:256])
    found = st.index.get(digest)
    if found is None or not hmac.compare_digest(found[1].encode(), secret.encode()):
        return None
    return digest, found[0]


def _allow(st: _PingState, digest: str, now: float) -> float:
    """0 when the ping may go through, else the seconds to wait."""
    bucket = st.buckets.get(digest)
    if bucket is None:
        bucket = st.buckets[digest] = _Bucket(float(BURST), now)
    bucket.tokens = min(float(BURST), bucket.tokens + max(0.0, now - bucket.at) / REFILL)
    bucket.at = now
    if bucket.tokens < 1.0:
        return (1.0 - bucket.tokens) * REFILL
    bucket.tokens -= 1.0
    return 0.0


async def _ping(request: Request, secret: str, kind: str) -> PlainTextResponse:
    control = get_control(request)
    st = _state(control)
    found = _lookup(st, secret)
    if found is None:
        return PlainTextResponse("not found\n", 404)
    digest, key = found
    wait = _allow(st, digest, control.clock.monotonic())
    if wait:
        return PlainTextResponse(
            "too many pings for this check; wait\n", 429, {"Retry-After": str(math.ceil(wait))}
        )
    now = control.clock.now()
    if kind == "start":
        st.starts[digest] = now
        return PlainTextResponse("OK\n")
    body = (await request.body())[:MAX_BODY] if request.method == "POST" else b""
    text = body.decode("utf-8", "replace").strip()
    output = text or ("ping: the job reported a failure" if kind == "fail" else "ping received")
    started = st.starts.pop(digest, None)
    perf = None
    if started is not None and 0 <= now - started <= MAX_START_AGE:
        perf = f"duration={now - started:.3f}s"
    try:
        answer = await actions.submit_result(
            control,
            key,
            2 if kind == "fail" else 0,
            output,
            performance_data=perf,
            source="ping",
        )
    except actions.ActionError as exc:
        return PlainTextResponse(f"{exc.message}\n", exc.status)
    if not answer.applied:
        return PlainTextResponse(f"stored, not applied: {answer.reason}\n", 200)
    return PlainTextResponse("OK\n")


@router.api_route("/{secret}", methods=["GET", "POST"])
async def ping(request: Request, secret: str) -> PlainTextResponse:
    return await _ping(request, secret, "ok")


@router.api_route("/{secret}/fail", methods=["GET", "POST"])
async def ping_fail(request: Request, secret: str) -> PlainTextResponse:
    return await _ping(request, secret, "fail")


@router.api_route("/{secret}/start", methods=["GET", "POST"])
async def ping_start(request: Request, secret: str) -> PlainTextResponse:
    return await _ping(request, secret, "start")
