"""The API of `augenmass agent`: its checks (GET, with an ETag) and its result batches (POST).

A batch is taken whole or not at all: a key not run by this agent (403), an unknown one (404),
a malformed result (422), a measurement time outside [now - agents.NAME.max_age,
now + settings.passive_max_future] after correcting the agent's clock skew (422), or too many
results (413) refuse the batch and nothing of it is stored. `GET /api/agents` shows every
agent's link, skew and buffer (read scope).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from augenmass.api.deps import Principal, agent_token, get_control, principal
from augenmass.api.schemas import ErrorBody
from augenmass.control import ActionError, AgentBatch
from augenmass.core.duration import format_age, format_duration
from augenmass.core.perfdata import parse_perfdata
from augenmass.core.pluginoutput import sanitize
from augenmass.core.values import CheckKey, CheckResult

if TYPE_CHECKING:
    from augenmass.control import ServerControl

MAX_BATCH = 500
MAX_OUTPUT = 65536
Epoch = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
AgentName = Annotated[str, Depends(agent_token)]
Reader = Annotated[Principal, Depends(principal("read"))]


def _error(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


AUTH: dict[int | str, dict[str, Any]] = {
    401: _error("missing, wrong or revoked token"),
    403: _error("not an agent's token, or the agent is not in the configuration"),
    422: _error("invalid parameters or body"),
}
BATCH: dict[int | str, dict[str, Any]] = {
    **AUTH,
    403: _error("not an agent's token, or a result for a host this agent does not run"),
    404: _error("a result for a host or service not in the configuration"),
    413: _error("more than 500 results, or a body over 1 MiB"),
    422: _error("a malformed result, or one measured outside the time bounds"),
    503: _error("the store is slow; send the batch again later"),
}
router = APIRouter(prefix="/api", tags=["agents"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentResultBody(_Body):
    seq: Annotated[int, Field(ge=1, le=2**62)]
    host: Name
    service: Name | None = None
    measured_at: Epoch
    duration: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)] = 0.0
    exit_status: Annotated[int, Field(ge=0, le=3)]
    output: Annotated[str, Field(max_length=MAX_OUTPUT)]
    long_output: Annotated[str, Field(max_length=MAX_OUTPUT)] = ""
    perfdata: Annotated[str, Field(max_length=MAX_OUTPUT)] = ""
    truncated: bool = False
    notes: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=20)] = []


class AgentBatchBody(_Body):
    epoch: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    sent_at: Epoch
    dropped: Annotated[int, Field(ge=0, le=2**62)] = 0
    buffered: Annotated[int, Field(ge=0, le=2**62)] = 0
    config_version: Annotated[str, Field(max_length=64)] = ""
    results: list[AgentResultBody] = []


@router.get("/agent/checks", responses={**AUTH, 304: {"description": "unchanged since the ETag"}})
async def agent_checks(request: Request, response: Response, agent: AgentName) -> Any:
    """The checks this agent runs; `If-None-Match` with the last `version`: 304 when same."""
    found = get_control(request).agent_checks(agent)
    etag = f'"{found.version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return {
        "agent": agent,
        "version": found.version,
        "settings": found.settings,
        "checks": found.checks,
    }


@router.post("/agent/results", responses=BATCH)
async def agent_results(request: Request, agent: AgentName, body: AgentBatchBody) -> Any:
    """A batch of results (an empty one is a heartbeat); each (epoch, seq) is taken once."""
    control = get_control(request)
    if len(body.results) > MAX_BATCH:
        raise HTTPException(413, f"a batch holds at most {MAX_BATCH} results; send smaller batches")
    now = control.clock.now()
    skew = body.sent_at - now
    results = [(r.seq, _result(control, agent, r, skew, now)) for r in body.results]
    batch = AgentBatch(
        epoch=body.epoch,
        sent_at=body.sent_at,
        dropped=body.dropped,
        buffered=body.buffered,
        results=results,
        config_version=body.config_version,
    )
    try:
        receipt = await control.agent_results(agent, batch)
    except ActionError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return {
        "ok": True,
        "accepted": receipt.accepted,
        "late": receipt.late,
        "duplicates": receipt.duplicates,
        "last_seq": receipt.last_seq,
        "skew": receipt.skew,
        "config_version": control.agent_checks(agent).version,
    }


@router.get(
    "/agents",
    tags=["read"],
    responses={401: _error("missing or wrong credentials"), 403: _error("lacking the read scope")},
)
async def agents(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Every agent: connected, last batch, clock skew, buffered and dropped results."""
    return [dict(one) for one in get_control(request).agent_status()]


def _result(
    control: ServerControl, agent: str, body: AgentResultBody, skew: float, now: float
) -> CheckResult:
    key = CheckKey(body.host, body.service)
    plan = control.plan
    known = key in plan.services if key.service is not None else key.host in plan.hosts
    if not known:
        raise HTTPException(404, f"result {body.seq}: {key} is not in the configuration")
    if plan.agent_of(key) != agent or (key.service is None and key.host == agent):
        raise HTTPException(403, f"result {body.seq}: {key} is not run by agent {agent!r}")
    # The agent's clock may be off: its times are moved onto the server's by the skew
    # measured with this very batch (sent_at), so a fast agent clock cannot block later results.
    measured = body.measured_at - skew
    age = now - measured
    max_age = plan.agents[agent].max_age
    if age > max_age:
        raise HTTPException(
            422,
            f"result {body.seq}: measured {format_age(age)} ago, older than"
            f" agents.{agent}.max_age ({format_duration(max_age)}): batch refused, nothing stored",
        )
    future = plan.settings.passive_max_future
    if -age > future:
        raise HTTPException(
            422,
            f"result {body.seq}: measured {format_age(-age)} in the future of its own batch"
            f" (more than settings.passive_max_future, {format_duration(future)}):"
            " batch refused, nothing stored",
        )
    perf, problems = parse_perfdata(sanitize(body.perfdata))
    notes = tuple(sanitize(n)[:500] for n in body.notes) + tuple(problems)
    return CheckResult(
        key=key,
        status=body.exit_status,
        output=sanitize(body.output) or "(no output)",
        long_output=sanitize(body.long_output),
        perfdata=perf,
        started_at=min(measured, now),
        duration=body.duration,
        source=f"agent:{agent}",
        truncated=body.truncated,
        notes=notes,
    )
