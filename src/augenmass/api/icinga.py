"""`POST /v1/actions/process-check-result` as Icinga 2 takes it, for the scripts, check_mk
spools and agents admins already have: the object by `type` + `filter` or `?service=HOST!SVC`
/ `?host=HOST`, HTTP basic auth (user = token name, password = token) or a bearer token, and
answers in Icinga's shape (`{"results": [{"code": 200.0, "status": ...}]}`, errors as
`{"error": 404, "status": "No objects found."}`).

Only the object naming is Icinga's; the result goes the same way as /api's (augenmass.api
.actions.submit_result): the same bounds, the same refusal of actively checked objects.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from augenmass.api import actions
from augenmass.api.deps import find_token, get_control
from augenmass.api.icingafilter import FilterError, parse_filter, parse_object_param
from augenmass.api.schemas import Epoch
from augenmass.core.values import CheckKey

router = APIRouter(prefix="/v1", tags=["icinga"])
UNAUTHORISED = "Unauthorized. Please check your user credentials."


class IcingaResultBody(BaseModel):
    """The parameters of Icinga 2's process-check-result (and its global `pretty`)."""

    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(max_length=20)] | None = None
    filter: Annotated[str, Field(max_length=2000)] | None = None
    filter_vars: dict[str, Any] | None = None
    host: Annotated[str, Field(max_length=255)] | None = None
    service: Annotated[str, Field(max_length=512)] | None = None
    exit_status: Annotated[float, Field(ge=0, le=3, allow_inf_nan=False)]
    plugin_output: Annotated[str, Field(max_length=65536)]
    performance_data: list[Annotated[str, Field(max_length=4096)]] | str | None = None
    check_source: Annotated[str, Field(max_length=255)] | None = None
    execution_start: Epoch | None = None
    execution_end: Epoch | None = None
    # accepted for compatibility and not used: augenmass runs no command for a passive
    # result, and its freshness comes from the config (freshness_threshold, expect_every)
    check_command: list[str] | str | None = None
    ttl: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    pretty: bool = False


class IcingaError(BaseModel):
    error: int
    status: str


class IcingaResult(BaseModel):
    code: float
    status: str


class IcingaAnswer(BaseModel):
    results: list[IcingaResult]


_WHY = {
    400: "malformed body, unknown field or unsupported filter",
    401: "missing or wrong credentials",
    403: "the token lacks the submit scope",
    404: "no such object",
    409: "the object does not accept passive results",
    422: "execution_start outside settings.passive_max_age / passive_max_future",
    503: "the store is slow; applied, not yet saved",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IcingaAnswer, "description": "processed"},
    **{code: {"model": IcingaError, "description": why} for code, why in _WHY.items()},
}


def _error(status: int, text: str, pretty: bool = False, **headers: str) -> Response:
    return _json({"error": status, "status": text}, status, pretty, headers)


def _json(
    body: dict[str, Any], status: int, pretty: bool, headers: dict[str, str] | None = None
) -> Response:
    text = json.dumps(body, indent=4 if pretty else None)
    return Response(text, status, headers, media_type="application/json")


@router.post("/actions/process-check-result", responses=RESPONSES)
async def process_check_result(request: Request) -> Response:
    """Icinga 2's process-check-result (see docs/passive.md). Token scope: `submit`."""
    pretty = request.query_params.get("pretty", "").lower() in ("1", "true")
    token = await find_token(request)
    if token is None:
        return _error(401, UNAUTHORISED, pretty, **{"WWW-Authenticate": 'Basic realm="augenmass"'})
    if "submit" not in token.scopes:
        return _error(403, f"No permission: token {token.name!r} lacks the 'submit' scope.", pretty)
    try:
        raw = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Invalid request body: not JSON.", pretty)
    if not isinstance(raw, dict):
        return _error(400, "Invalid request body: expected a JSON object.", pretty)
    try:
        body = IcingaResultBody.model_validate(raw)
    except ValidationError as exc:
        return _error(400, f"Invalid request body: {_first_problem(exc)}", pretty)
    pretty = pretty or body.pretty
    try:
        key = _object(request, body)
    except FilterError as exc:
        return _error(400, f"Invalid filter: {exc}.", pretty)
    control = get_control(request)
    if not actions.known(control, key):
        return _error(404, "No objects found.", pretty)
    if not body.exit_status.is_integer():
        return _error(400, "Invalid 'exit_status': must be 0, 1, 2 or 3.", pretty)
    try:
        answer = await actions.submit_result(
            control,
            key,
            int(body.exit_status),
            body.plugin_output,
            performance_data=body.performance_data,
            check_source=body.check_source,
            execution_start=body.execution_start,
            execution_end=body.execution_end,
            source=f"icinga-api:{token.name}",
        )
    except actions.ActionError as exc:
        return _error(exc.status, exc.message, pretty)
    name = f"{key.host}!{key.service}" if key.service else key.host
    status = f"Successfully processed check result for object '{name}'."
    if not answer.applied:
        status += f" Not applied: {answer.reason}."
    return _json({"results": [{"code": 200.0, "status": status}]}, 200, pretty)


def _object(request: Request, body: IcingaResultBody) -> CheckKey:
    query = request.query_params
    kind = _kind(body.type or query.get("type"))
    service = query.get("service") or body.service
    host = query.get("host") or body.host
    text = body.filter if body.filter is not None else query.get("filter")
    given = [name for name, v in (("service", service), ("host", host), ("filter", text)) if v]
    if len(given) != 1:
        raise FilterError(
            "name the object by one of filter (with type), ?service=HOST!SERVICE or ?host=HOST"
        )
    if service:
        if kind == "Host":
            raise FilterError('service= with type "Host"')
        return parse_object_param(service, "Service")
    if host:
        if kind == "Service":
            raise FilterError('host= with type "Service"; use service=HOST!SERVICE')
        return parse_object_param(host, "Host")
    if kind is None:
        raise FilterError('a filter needs "type": "Service" or "Host"')
    return parse_filter(text or "", kind, body.filter_vars)


def _kind(value: str | None) -> Literal["Service", "Host"] | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered == "service":
        return "Service"
    if lowered == "host":
        return "Host"
    raise FilterError(f'type must be "Service" or "Host", not {value[:20]!r}')


def _first_problem(exc: ValidationError) -> str:
    # Never echo the input back: a body may carry anything.
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}."
