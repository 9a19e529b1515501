"""The web UI: server-rendered pages (Jinja2 + htmx), graphs (uPlot), the public status page.

Pages need a logged-in viewer (else a redirect to /login); actions need an operator and the
session's CSRF token, and go through `augenmass.api.actions` (engine → commit → audit), the same
code the JSON API uses. `/status` and `/static/` need no login.
"""

from __future__ import annotations

import csv
import io
import math
import mimetypes
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from augenmass.api import actions, auth, deps
from augenmass.api.accounts import User
from augenmass.control import ServerControl
from augenmass.core.values import CheckKey
from augenmass.web import availability as av
from augenmass.web import checkinfo, flash, graphs, loginform, queries, statuspage
from augenmass.web.render import SECURITY_HEADERS, STATIC, key_url, page, zone

router = APIRouter(include_in_schema=False)

MAX_FIELD = 2000  # form fields (comments) beyond this are refused, not cut silently
REPORT_PERIODS = {"1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
MAX_REPORT_SPAN = 2 * 366 * 86400.0


# --- who is asking ---------------------------------------------------------------------------


class LoginRedirect(HTTPException):
    pass


async def viewer(request: Request) -> tuple[User, str]:
    """The logged-in user and the session's CSRF token; a redirect to /login otherwise."""
    sess = await deps.current_session(request)
    if sess is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            303, "login required", headers={"Location": "/login?" + urlencode({"next": target})}
        )
    return sess.user, sess.csrf_token


async def operator(request: Request) -> User:
    user, _ = await viewer(request)
    if not user.has_role("operator"):
        raise HTTPException(403, "this needs the operator role")
    await deps.require_csrf(request)
    return user


def _ctx(who: tuple[User, str], **extra: Any) -> dict[str, Any]:
    return {"user": who[0], "csrf_token": who[1], **extra}


def _safe_next(target: str | None) -> str:
    """Only local paths: never let ?next= send someone to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- static files ----------------------------------------------------------------------------


@router.get("/static/{path:path}")
async def static(path: str) -> Response:
    root = STATIC.resolve()
    try:
        target = (root / path).resolve()
        found = target.is_relative_to(root) and target.is_file()
    except (OSError, ValueError):  # a name too long, a NUL: no such file, not a 500
        found = False
    if not found:
        raise HTTPException(404, "not found")
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return FileResponse(target, media_type=media, headers=headers)


# --- login -----------------------------------------------------------------------------------


def _login_page(request: Request, nxt: str, status: int = 200, **extra: Any) -> Response:
    """The login form with a fresh (or the browser's current) login CSRF token."""
    token = loginform.token_for(request)
    ctx = {"next": nxt, "error": "", "retry_after": 0, "login_token": token, **extra}
    response = page(request, "login.html", ctx, status_code=status)
    loginform.set_cookie(response, token, auth.settings(deps.get_control(request)).secure_cookies)
    # the form's POST then carries a real Origin header (with no-referrer it says "null")
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_page(request, _safe_next(request.query_params.get("next")))


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", ""))[:200], str(form.get("password", ""))[:1000]
    nxt = _safe_next(str(form.get("next", "/")))
    if deps.foreign_origin(request) or not loginform.valid(
        request, str(form.get(loginform.FIELD, ""))
    ):
        # login CSRF: another site's form, or a form older than this browser's cookie
        return _login_page(request, nxt, 403, error="expired")
    source = request.client.host if request.client else ""
    try:
        sess = await auth.login(deps.get_control(request), name, password, source) if name else None
    except auth.Throttled as exc:
        response = _login_page(
            request, nxt, 429, error="throttled", retry_after=exc.retry_after, name=name
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if sess is None:
        return _login_page(request, nxt, 401, error="wrong", name=name)
    response = RedirectResponse(nxt, status_code=303)
    auth.set_session_cookie(response, sess)
    response.delete_cookie(loginform.COOKIE, path=loginform.PATH)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await viewer(request)
    await deps.require_csrf(request)
    response = RedirectResponse("/login", status_code=303)
    await auth.logout(deps.get_control(request), request, response)
    return response


# --- dashboard -------------------------------------------------------------------------------


def _filter(request: Request) -> queries.ProblemFilter:
    q = request.query_params
    state = q.get("state", "all")
    handled = q.get("handled", "all")
    return queries.ProblemFilter(
        state=state if state in queries.STATE_FILTERS else "all",
        handled=handled if handled in queries.HANDLED_FILTERS else "all",
        tag=q.get("tag", "")[:200],
        group=q.get("group", "")[:200],
        host=q.get("host", "")[:200],
    )


def _problems_ctx(request: Request) -> dict[str, Any]:
    control = deps.get_control(request)
    flt = _filter(request)
    rows, counts = queries.problems(control, flt)
    tags, groups = queries.all_tags_and_groups(control)
    query = urlencode({k: v for k, v in vars_of(flt).items() if v and v != "all"})
    return {
        "rows": rows,
        "counts": counts,
        "flt": flt,
        "tags": tags,
        "groups": groups,
        "states": queries.STATE_FILTERS,
        "handled_filters": queries.HANDLED_FILTERS,
        "refresh_url": "/ui/problems" + (f"?{query}" if query else ""),
    }


def vars_of(flt: queries.ProblemFilter) -> dict[str, str]:
    return {
        "state": flt.state,
        "handled": flt.handled,
        "tag": flt.tag,
        "group": flt.group,
        "host": flt.host,
    }


@router.get("/")
async def dashboard(request: Request) -> Response:
    who = await viewer(request)
    # a server nobody is told about: the first run, before contacts are set up
    next_steps = not deps.get_control(request).plan.contacts
    ctx = _ctx(who, next_steps=next_steps, main_class="dash", **_problems_ctx(request))
    ctx["cluster"] = deps.get_control(request).health().get("cluster")  # workers over NATS
    return page(request, "dashboard.html", ctx)


@router.get("/ui/problems")
async def problems_fragment(request: Request) -> Response:
    """The problem list alone, for htmx's periodic refresh (no full reload)."""
    sess = await deps.current_session(request)
    if sess is None:
        raise HTTPException(401, "login required")
    return page(
        request, "_problems.html", _ctx((sess.user, sess.csrf_token), **_problems_ctx(request))
    )


# --- host and service pages ------------------------------------------------------------------


def _key_or_404(request: Request, host: str, service: str | None) -> CheckKey:
    key = CheckKey(host, service)
    if not actions.known(deps.get_control(request), key):
        raise HTTPException(404, "no such host or service")
    return key


async def _flash(request: Request) -> flash.Flash | None:
    sess = await deps.current_session(request)
    return None if sess is None else flash.take(sess.id_hash)


async def _object_ctx(request: Request, key: CheckKey) -> dict[str, Any]:
    control = deps.get_control(request)
    states = control.states
    host_state = None if key.is_host else states.get(CheckKey(key.host))
    row = queries.row_of(states[key], host_state)
    now = control.clock.now()
    timeline = await queries.events(
        control, [key], queries.TIMELINE_KINDS, now - 30 * 86400, now + 1, limit=200
    )
    notes = await queries.recent(control, key, ("notification",), limit=50)
    downtimes = [
        dt
        for dt in control.downtimes.values()
        if dt.key == key or (not key.is_host and dt.key == CheckKey(key.host))
    ]
    plan = control.plan
    obj = plan.hosts[key.host] if key.is_host else plan.services[key]
    return {
        "key": key,
        "row": row,
        "check": None
        if obj.check is None
        else checkinfo.describe(obj.check, control.option_defaults(obj.check.type)),
        "policy": obj.policy,
        "next_check": control.next_check(key),
        "parents": list(plan.hosts[key.host].parents),
        "children": sorted(h.name for h in plan.hosts.values() if key.host in h.parents)
        if key.is_host
        else [],
        "state": states[key],
        "timeline": list(reversed(timeline)),
        "notifications": notes,
        "downtimes": sorted(downtimes, key=lambda d: d.start),
        "perf": graphs.labels(control, key),
        "phases": graphs.has_phases(graphs.labels(control, key)),
        "ranges": list(graphs.RANGES),
        "flash": await _flash(request),
    }


@router.get("/host/{host}")
async def host_page(request: Request, host: str) -> Response:
    who = await viewer(request)
    key = _key_or_404(request, host, None)
    control = deps.get_control(request)
    ctx = await _object_ctx(request, key)
    states = control.states
    ctx["services"] = [
        queries.row_of(states[s.key], states.get(key))
        for s in control.plan.services_of(host)
        if s.key in states
    ]
    ctx["host_plan"] = control.plan.hosts[host]
    # the agent's own host: what GET /api/agents says of it (link, clock skew, buffer)
    ctx["agent_status"] = next((a for a in control.agent_status() if a["name"] == host), None)
    return page(request, "object.html", _ctx(who, **ctx))


@router.get("/service/{host}/{service:path}")
async def service_page(request: Request, host: str, service: str) -> Response:
    who = await viewer(request)
    key = _key_or_404(request, host, service)
    ctx = await _object_ctx(request, key)
    ctx["services"] = []
    ctx["host_plan"] = deps.get_control(request).plan.hosts[host]
    ctx["agent_status"] = None
    return page(request, "object.html", _ctx(who, **ctx))


async def _graph_window(
    request: Request, host: str, service: str
) -> tuple[ServerControl, CheckKey, float, float]:
    """The check and the time window a graph asks for (service '-' is the host's own check)."""
    await viewer(request)
    key = _key_or_404(request, host, None if service == "-" else service)
    control = deps.get_control(request)
    q = request.query_params
    since, until = graphs.window(q.get("range"), q.get("from"), q.get("to"), control.clock.now())
    return control, key, since, until


@router.get("/ui/graph/{host}/{service:path}")
async def graph_data(request: Request, host: str, service: str) -> Response:
    """One series as JSON for graph.js."""
    control, key, since, until = await _graph_window(request, host, service)
    label = request.query_params.get("label", "")[:512]
    data = await graphs.series_json(control, key, label, since, until)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/ui/phases/{host}/{service:path}")
async def phases_data(request: Request, host: str, service: str) -> Response:
    """An http check's response time by phase (DNS, connect, TLS, first byte) for graph.js."""
    control, key, since, until = await _graph_window(request, host, service)
    data = await graphs.phases_json(control, key, since, until)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


# --- actions ---------------------------------------------------------------------------------


def _form_key(form: Any) -> CheckKey:
    host = str(form.get("host", ""))
    service = str(form.get("service", "")) or None
    return CheckKey(host, service)


def _text(form: Any, name: str) -> str:
    value = str(form.get(name, ""))
    if len(value) > MAX_FIELD:
        raise actions.ActionError(422, f"{name} is longer than {MAX_FIELD} characters")
    return value


def _hours(form: Any, name: str) -> float | None:
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise actions.ActionError(422, f"{name} must be a number of hours") from exc
    if not math.isfinite(value) or value <= 0 or value > 24 * 366:
        raise actions.ActionError(422, f"{name} must be between 0 and one year in hours")
    return value * 3600.0


async def _back(request: Request, key: CheckKey, kind: str, text: str) -> Response:
    """Back to the object's page, which shows `text` once (kept on the server: see flash)."""
    sess = await deps.current_session(request)
    if sess is not None:
        flash.put(sess.id_hash, kind, text)
    return RedirectResponse(key_url(key), status_code=303)


@router.post("/ui/action/{kind}")
async def action(request: Request, kind: str) -> Response:
    user = await operator(request)
    control = deps.get_control(request)
    form = await request.form()
    key = _form_key(form)
    if not actions.known(control, key):
        raise HTTPException(404, "no such host or service")
    try:
        await _run(control, kind, key, user.name, form)
    except actions.ActionError as exc:
        return await _back(request, key, "error", exc.message)
    return await _back(request, key, "notice", "done")


async def _run(control: ServerControl, kind: str, key: CheckKey, author: str, form: Any) -> None:
    now = control.clock.now()
    if kind == "acknowledge":
        expires = _hours(form, "expires_hours")
        await actions.acknowledge(
            control,
            key,
            author,
            _text(form, "comment") or "acknowledged",
            sticky=form.get("sticky") == "on",
            expires=None if expires is None else now + expires,
        )
    elif kind == "remove_acknowledgement":
        await actions.remove_acknowledgement(control, key, author)
    elif kind == "downtime":
        hours = _hours(form, "hours")
        if hours is None:
            raise actions.ActionError(422, "a downtime needs a duration in hours")
        flexible = form.get("flexible") == "on"
        await actions.schedule_downtime(
            control,
            key,
            author,
            _text(form, "comment") or "downtime",
            start=now,
            end=now + (hours * 2 if flexible else hours),
            duration=hours,
            fixed=not flexible,
            all_services=key.is_host,
            child_hosts=key.is_host and form.get("children") == "on",
        )
    elif kind == "remove_downtime":
        await actions.remove_downtime(control, _text(form, "downtime_id"), author)
    elif kind == "check_now":
        await actions.check_now(control, key, author)
    else:
        raise actions.ActionError(404, "unknown action")


# --- search ----------------------------------------------------------------------------------


@router.get("/search")
async def search(request: Request) -> Response:
    who = await viewer(request)
    text = request.query_params.get("q", "")[:200]
    rows = queries.search(deps.get_control(request), text)
    fragment = request.headers.get("hx-request") == "true"
    template = "_search_results.html" if fragment else "search.html"
    return page(request, template, _ctx(who, q=text, rows=rows))


# --- availability ----------------------------------------------------------------------------


def _report_window(request: Request, now: float) -> tuple[float, float, str]:
    q = request.query_params
    period = q.get("period", "30d")
    try:
        since = _date(q.get("from", "")) if q.get("from") else None
        until = _date(q.get("to", "")) + 86400 if q.get("to") else None
    except ValueError:
        since = until = None
    if since is not None and until is not None and until > since:
        return max(since, until - MAX_REPORT_SPAN), min(until, now), "custom"
    period = period if period in REPORT_PERIODS else "30d"
    return now - REPORT_PERIODS[period], now, period


def _date(text: str) -> float:
    return datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


async def _report(request: Request) -> dict[str, Any]:
    control = deps.get_control(request)
    q = request.query_params
    kind = q.get("kind", "service")
    kind = kind if kind in ("service", "host", "group") else "service"
    target = q.get("target", "")[:1000]
    since, until, period = _report_window(request, control.clock.now())
    keys = _report_keys(control, kind, target)
    per_key = await queries.availability(control, keys, since, until)
    rows = sorted(per_key.values(), key=lambda a: a.percent if a.percent is not None else 101)
    total = av.combine(None, list(per_key.values()))
    _, groups = queries.all_tags_and_groups(control)
    return {
        "kind": kind,
        "target": target,
        "period": period,
        "periods": list(REPORT_PERIODS),
        "since": since,
        "until": until,
        "rows": rows,
        "total": total,
        "groups": groups,
        "hosts": sorted(control.plan.hosts),
        "csv_url": "/availability.csv?" + urlencode(list(q.multi_items())),
    }


def _report_keys(control: ServerControl, kind: str, target: str) -> list[CheckKey]:
    plan = control.plan
    if kind == "group":
        return queries.keys_of_group(control, target) if target else []
    if kind == "host":
        if target not in plan.hosts:
            return []
        host = plan.hosts[target]
        own = [host.key] if host.check is not None else []
        return own + [s.key for s in plan.services_of(target)]
    if not target:
        return list(plan.services)
    key = CheckKey.parse(target)
    return [key] if key in plan.services else []


@router.get("/availability")
async def availability_page(request: Request) -> Response:
    who = await viewer(request)
    return page(request, "availability.html", _ctx(who, **(await _report(request))))


def _csv_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: check names must not."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get("/availability.csv")
async def availability_csv(request: Request) -> Response:
    await viewer(request)
    rep = await _report(request)
    # outage starts in the configured zone, with its offset: local and still unambiguous
    tz = zone(deps.get_control(request).plan.settings.timezone)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(
        [
            "host",
            "service",
            "percent_ok",
            "ok_seconds",
            "problem_seconds",
            "downtime_seconds",
            "no_data_seconds",
            "outages",
            "outage_start_utc",
            "outage_seconds",
            "outage_state",
        ]
    )
    for a in rep["rows"]:
        key = a.key
        assert key is not None
        base = [
            _csv_cell(key.host),
            _csv_cell(key.service or ""),
            "" if a.percent is None else f"{a.percent:.4f}",
            f"{a.ok:.0f}",
            f"{a.problem:.0f}",
            f"{a.downtime:.0f}",
            f"{a.no_data:.0f}",
            str(len(a.outages)),
        ]
        if not a.outages:
            out.writerow([*base, "", "", ""])
        for o in a.outages:
            start = datetime.fromtimestamp(o.start, tz).isoformat(timespec="seconds")
            out.writerow([*base, start, f"{o.duration:.0f}", str(o.state)])
    name = quote(f"availability-{rep['kind']}.csv")
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Cache-Control": "no-store",
        **SECURITY_HEADERS,
    }
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


# --- public status page ----------------------------------------------------------------------


@router.get("/status")
async def status_page(request: Request) -> Response:
    model = await statuspage.build(deps.get_control(request))
    response = page(request, "status.html", {"page": model})
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


@router.get("/status/feed.atom")
async def status_feed(request: Request) -> Response:
    """The status page's incidents as an Atom feed (public, like the page)."""
    control = deps.get_control(request)
    model = await statuspage.build(control)
    items = await statuspage.incidents(control)
    response = page(request, "feed.atom", {"page": model, "items": items})
    response.media_type = "application/atom+xml"
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=30"
    return response
