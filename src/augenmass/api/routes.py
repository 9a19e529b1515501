"""The JSON API under /api: reads, operator actions, passive results, login and logout."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from augenmass.api import actions, audit, auth, views
from augenmass.api.actions import ActionError
from augenmass.api.deps import Principal, current_session, foreign_origin, get_control, principal
from augenmass.api.schemas import (
    AcknowledgeBody,
    CheckResultBody,
    DowntimeBody,
    ErrorBody,
    LoginBody,
    RemoveDowntimeBody,
    Target,
)
from augenmass.core.values import CheckKey, state_name

Reader = Annotated[Principal, Depends(principal("read"))]
Writer = Annotated[Principal, Depends(principal("write"))]
Submitter = Annotated[Principal, Depends(principal("submit"))]
Admin = Annotated[Principal, Depends(principal("admin"))]
NameQ = Annotated[str, Query(min_length=1, max_length=255)]
EpochQ = Annotated[float | None, Query(ge=0, le=1e11, allow_inf_nan=False)]
LimitQ = Annotated[int, Query(ge=1, le=10_000)]
JSON = dict[str, Any]
StateName = Literal["OK", "WARNING", "CRITICAL", "UNKNOWN", "UP", "DOWN", "UNREACHABLE", "PENDING"]
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "invalid parameters or body"},
}
UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong credentials"},
    403: {
        "model": ErrorBody,
        "description": "the role or token scope is not enough, or the CSRF token is wrong",
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown host or service"}
}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **UNAUTHORISED,
    404: {"model": ErrorBody, "description": "unknown host, service or downtime"},
    409: {"model": ErrorBody, "description": "nothing to do (e.g. acknowledging an OK service)"},
    503: {"model": ErrorBody, "description": "the store is slow; applied, not yet saved"},
}


def _key(server_plan_host: str, service: str | None) -> CheckKey:
    return CheckKey(server_plan_host, service or None)


def _fail(exc: ActionError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


router = APIRouter(prefix="/api", responses=ERRORS)


# --- reads ---------------------------------------------------------------------------------


@router.get("/health", tags=["server"])
async def health(request: Request) -> JSON:
    """The server's own figures: scheduler lateness, store backlog. No login needed."""
    return dict(get_control(request).health())


@router.get("/hosts", tags=["read"], responses=UNAUTHORISED)
async def hosts(request: Request, _: Reader) -> list[JSON]:
    control = get_control(request)
    return [views.host_view(control, name) for name in sorted(control.plan.hosts)]


@router.get("/hosts/{host}", tags=["read"], responses={**UNAUTHORISED, **NOT_FOUND})
async def host(request: Request, _: Reader, host: str) -> JSON:
    control = get_control(request)
    if host not in control.plan.hosts:
        raise HTTPException(404, "no such host")
    view = views.host_view(control, host)
    view["service_list"] = [
        views.service_view(control, s.key) for s in control.plan.services_of(host)
    ]
    return view


@router.get("/services", tags=["read"], responses=UNAUTHORISED)
async def services(
    request: Request, _: Reader, host: Annotated[str | None, Query(max_length=255)] = None
) -> list[JSON]:
    control = get_control(request)
    keys = sorted(
        (k for k in control.plan.services if host is None or k.host == host),
        key=lambda k: (k.host, k.service or ""),
    )
    return [views.service_view(control, k) for k in keys]


@router.get("/services/{host}/{service}", tags=["read"], responses={**UNAUTHORISED, **NOT_FOUND})
async def service(request: Request, _: Reader, host: str, service: str) -> JSON:
    control = get_control(request)
    key = CheckKey(host, service)
    if key not in control.plan.services:
        raise HTTPException(404, "no such service")
    return views.service_view(control, key, full=True)


@router.get("/problems", tags=["read"], responses=UNAUTHORISED)
async def problems(
    request: Request,
    _: Reader,
    state: Annotated[list[StateName] | None, Query()] = None,
    handled: bool | None = None,
    tag: Annotated[str | None, Query(max_length=255)] = None,
    hostgroup: Annotated[str | None, Query(max_length=255)] = None,
    limit: LimitQ = 1000,
) -> JSON:
    """Current problems, unhandled first, then by severity and duration; counts per state."""
    control = get_control(request)
    filt = views.ProblemFilter(frozenset(state or ()), handled, tag, hostgroup)
    return {"counts": views.counts(control), "problems": views.problems(control, filt, limit)}


@router.get("/history", tags=["read"], responses=UNAUTHORISED)
async def history(
    request: Request,
    _: Reader,
    host: Annotated[str | None, Query(max_length=255)] = None,
    service: Annotated[str | None, Query(max_length=255)] = None,
    since: EpochQ = None,
    until: EpochQ = None,
    limit: LimitQ = 1000,
) -> list[JSON]:
    """State changes and operator events, newest first (default: the last 24 hours)."""
    control = get_control(request)
    now = control.clock.now()
    until = now + 1 if until is None else until
    since = until - 86400 if since is None else since
    key = _key(host, service) if host else None
    events = await control.history(key, since, until, limit)
    return [
        {
            "at": e.at,
            "host": e.key.host,
            "service": e.key.service,
            "kind": e.kind,
            "state": state_name(e.state, e.key.is_host),
            "state_type": str(e.state_type),
            "attempt": e.attempt,
            "output": e.output,
        }
        for e in events
    ]


@router.get("/series", tags=["read"], responses=UNAUTHORISED)
async def series(
    request: Request,
    _: Reader,
    host: NameQ,
    service: NameQ,
    label: Annotated[str, Query(min_length=1, max_length=1024)],
    since: EpochQ = None,
    until: EpochQ = None,
    resolution: Literal["auto", "raw", "5m", "1h"] = "auto",
) -> JSON:
    """Performance data of one label: [ts, avg, min, max] rows; `auto` picks the finest
    roll-up still kept for the range."""
    control = get_control(request)
    now = control.clock.now()
    until = now + 1 if until is None else until
    since = until - 86400 if since is None else since
    if since >= until:
        raise HTTPException(422, "'since' must be before 'until'")
    key = CheckKey(host, service)
    found = await control.series(key, label, since, until, resolution)
    return {"host": host, "service": service, "label": label, "points": found.points}


@router.get("/notifications", tags=["read"], responses=UNAUTHORISED)
async def notifications(
    request: Request,
    _: Reader,
    host: Annotated[str | None, Query(max_length=255)] = None,
    service: Annotated[str | None, Query(max_length=255)] = None,
    since: EpochQ = None,
    until: EpochQ = None,
    limit: LimitQ = 100,
) -> list[JSON]:
    control = get_control(request)
    now = control.clock.now()
    until = now + 1 if until is None else until
    since = until - 7 * 86400 if since is None else since
    return [dict(row) for row in await control.notification_log(since, until, host, service, limit)]


@router.get("/audit", tags=["read"], responses=UNAUTHORISED)
async def audit_log(request: Request, _: Admin, limit: LimitQ = 100) -> list[JSON]:
    entries = await audit.entries(get_control(request), limit)
    return [
        {
            "at": e.at,
            "user": e.user_name,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in entries
    ]


# --- actions -------------------------------------------------------------------------------


@router.post("/actions/acknowledge", tags=["actions"], responses=ACTION_ERRORS)
async def acknowledge(request: Request, who: Writer, body: AcknowledgeBody) -> JSON:
    try:
        await actions.acknowledge(
            get_control(request),
            _key(body.host, body.service),
            who.name,
            body.comment,
            sticky=body.sticky,
            notify=body.notify,
            persistent=body.persistent,
            expires=body.expires,
        )
    except ActionError as exc:
        raise _fail(exc) from None
    return {"ok": True}


@router.post("/actions/remove-acknowledgement", tags=["actions"], responses=ACTION_ERRORS)
async def remove_acknowledgement(request: Request, who: Writer, body: Target) -> JSON:
    try:
        await actions.remove_acknowledgement(
            get_control(request), _key(body.host, body.service), who.name
        )
    except ActionError as exc:
        raise _fail(exc) from None
    return {"ok": True}


@router.post("/actions/downtime", tags=["actions"], responses=ACTION_ERRORS)
async def downtime(request: Request, who: Writer, body: DowntimeBody) -> JSON:
    try:
        ids = await actions.schedule_downtime(
            get_control(request),
            _key(body.host, body.service),
            who.name,
            body.comment,
            start=body.start,
            end=body.end,
            duration=body.duration,
            fixed=body.fixed,
            all_services=body.all_services,
            child_hosts=body.child_hosts,
        )
    except ActionError as exc:
        raise _fail(exc) from None
    return {"ok": True, "ids": ids}


@router.post("/actions/remove-downtime", tags=["actions"], responses=ACTION_ERRORS)
async def remove_downtime(request: Request, who: Writer, body: RemoveDowntimeBody) -> JSON:
    try:
        await actions.remove_downtime(get_control(request), body.id, who.name)
    except ActionError as exc:
        raise _fail(exc) from None
    return {"ok": True}


@router.post("/actions/check-now", tags=["actions"], responses=ACTION_ERRORS)
async def check_now(request: Request, who: Writer, body: Target) -> JSON:
    try:
        started = await actions.check_now(
            get_control(request), _key(body.host, body.service), who.name
        )
    except ActionError as exc:
        raise _fail(exc) from None
    return {"ok": True, "scheduled": started}


@router.post("/actions/process-check-result", tags=["actions"], responses=ACTION_ERRORS)
async def process_check_result(request: Request, who: Submitter, body: CheckResultBody) -> JSON:
    """A passive check result (the fields of Icinga 2's process-check-result).

    `applied` is false when the result is older than the check's current state: it is then
    stored for history and graphs only, and `reason` says so. A start time outside
    settings.passive_max_age / passive_max_future is refused (422) and nothing is stored."""
    try:
        answer = await actions.submit_result(
            get_control(request),
            _key(body.host, body.service),
            body.exit_status,
            body.plugin_output,
            performance_data=body.performance_data,
            check_source=body.check_source,
            execution_start=body.execution_start,
            execution_end=body.execution_end,
        )
    except ActionError as exc:
        raise _fail(exc) from None
    if answer.applied:
        return {"ok": True, "applied": True}
    return {"ok": True, "applied": False, "reason": answer.reason}


@router.post(
    "/actions/reload",
    tags=["actions"],
    responses={**UNAUTHORISED, 409: {"model": ErrorBody, "description": "config has errors"}},
)
async def reload(request: Request, who: Admin) -> JSON:
    """Re-read the config; a broken one is refused (409) and the old one keeps running."""
    ok = await actions.reload_config(get_control(request), who.name)
    if not ok:
        raise HTTPException(409, "the config has errors; the old one keeps running (see the log)")
    return {"ok": True}


# --- sessions ------------------------------------------------------------------------------


LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "wrong name or password"},
    403: {"model": ErrorBody, "description": "sent by a page of another site (Origin)"},
    429: {"model": ErrorBody, "description": "too many failed logins: see Retry-After"},
}


@router.post("/login", tags=["auth"], responses=LOGIN_ERRORS)
async def login(request: Request, body: LoginBody) -> JSONResponse:
    """Log in; sets the session cookie and returns the CSRF token for later POSTs."""
    if foreign_origin(request):  # login CSRF: a page of another site posting here
        raise HTTPException(403, "cross-site login refused")
    source = request.client.host if request.client else ""
    try:
        sess = await auth.login(get_control(request), body.name, body.password, source)
    except auth.Throttled as exc:
        raise HTTPException(
            429,
            f"too many failed logins: try again in {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    if sess is None:
        raise HTTPException(401, "wrong name or password")
    response = JSONResponse(
        {"user": sess.user.name, "role": sess.user.role, "csrf_token": sess.csrf_token}
    )
    auth.set_session_cookie(response, sess)
    return response


@router.get("/session", tags=["auth"], responses=UNAUTHORISED)
async def session(request: Request) -> JSON:
    sess = await current_session(request)
    if sess is None:
        raise HTTPException(401, "not logged in")
    return {"user": sess.user.name, "role": sess.user.role, "csrf_token": sess.csrf_token}


@router.post("/logout", tags=["auth"])
async def logout(request: Request, response: Response) -> JSON:
    await auth.logout(get_control(request), request, response)
    return {"ok": True}
