"""Jinja2 rendering with autoescape on every template, plus the security headers of every page.

Check output and config names reach templates only as plain strings; autoescape turns them into
text. Data for scripts goes into `<script type="application/json">` via `tojson` (which escapes
<, >, & and quotes), so no page builds JavaScript from strings; the CSP forbids inline scripts.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from augenmass.api.deps import get_control
from augenmass.control import StoreHealth
from augenmass.core.duration import format_age, format_duration
from augenmass.core.values import CheckKey, Event, page_path, state_name
from augenmass.web import i18n

HERE = Path(__file__).parent
STATIC = HERE / "static"
ASSET_VERSION = "6"  # bump when static files change: they are cached for a day

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@jinja2.pass_context
def duration(ctx: jinja2.runtime.Context, seconds: float) -> str:
    """ "4m 10s" in English, "4 min 10 s" in German (two units are enough to judge)."""
    text = format_age(seconds)
    if ctx.get("lang") != "de":
        return text
    units = {"d": " T", "h": " h", "m": " min", "s": " s"}
    return " ".join(part[:-1] + units.get(part[-1], part[-1]) for part in text.split())


# History entries by kind, as the reader is told (each translated in the template).
EVENT_KINDS = {
    "state": "State",
    "notification": "Notification",
    "acknowledgement": "Acknowledged",
    "acknowledgement_removed": "Acknowledgement removed",
    "downtime_start": "Downtime began",
    "downtime_end": "Downtime ended",
    "downtime_cancelled": "Downtime cancelled",
    "flapping_start": "Flapping began",
    "flapping_stop": "Flapping stopped",
    "comment": "Comment",
}


def event_kind(kind: str) -> str:
    return EVENT_KINDS.get(kind, kind)


# A time is shown in the configured zone (settings.timezone), named, in the page's language:
# 24-hour everywhere, the day first in German.
_FORMATS = {"de": "%d.%m.%Y %H:%M:%S %Z", "en": "%Y-%m-%d %H:%M:%S %Z"}


@functools.lru_cache(maxsize=16)
def zone(name: str) -> tzinfo:
    """The zone of `name` (validated with the config); UTC when it cannot be loaded."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def format_time(ts: float, tz: tzinfo = UTC, lang: str = "en") -> str:
    if not ts or not math.isfinite(ts):
        return "—"
    return datetime.fromtimestamp(ts, tz).strftime(_FORMATS.get(lang, _FORMATS["en"]))


@jinja2.pass_context
def timestamp(ctx: jinja2.runtime.Context, ts: float) -> str:
    return format_time(ts, ctx.get("tz") or UTC, ctx.get("lang") or "en")


def key_url(key: CheckKey) -> str:
    """The page of a host or service; names are percent-encoded (a '/' in a service stays)."""
    return page_path(key)


def host_url(host: str) -> str:
    return key_url(CheckKey(host))


def event_state(ev: Event) -> str:
    try:
        return state_name(ev.state, ev.key.is_host)
    except ValueError:
        return str(ev.state)


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    # never round 99.996 up to 100: a page that says 100 % must mean no downtime at all
    return f"{math.floor(value * 1000) / 1000:.3f} %"


@jinja2.pass_context
def public_percent(ctx: jinja2.runtime.Context, value: float | None) -> str:
    """Uptime for members: two decimals at most ("99.95 %", German "99,95 %", "100 %"), never
    rounded up to 100 (a page that says 100 % must mean no downtime at all)."""
    if value is None:
        return "—"
    floored = math.floor(value * 100) / 100
    text = "100" if floored >= 100 else f"{floored:.2f}"
    return (text.replace(".", ",") if ctx.get("lang") == "de" else text) + " %"


def isotime(ts: float) -> str:
    """RFC 3339 in UTC, as Atom wants it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration,
        timestamp=timestamp,
        key_url=key_url,
        host_url=host_url,
        event_state=event_state,
        event_kind=event_kind,
        span=format_duration,  # a configured duration, as the config writes it (5m, 1h30m)
        percent=percent,
        public_percent=public_percent,
        isotime=isotime,
        urlq=quote,
    )
    env.globals["asset_version"] = ASSET_VERSION
    return env


ENV = _env()


def language(request: Request) -> str:
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )


def store_problem(store: StoreHealth) -> dict[str, Any] | None:
    """What the banner says while the store cannot be written (None: nothing to say)."""
    if not store["degraded"]:
        return None
    waiting = store["waiting"]
    return {
        "reason": store["degraded_reason"] or "",
        "failing_for": store["failing_for"] or 0.0,
        "waiting": ", ".join(f"{n} {kind}" for kind, n in waiting.items() if n),
        "dropped": store["dropped_results"] + store["dropped_events"],
    }


def page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    lang = language(request)
    control = get_control(request)
    health = control.health()
    ctx = {
        "store_problem": store_problem(health["store"]),
        "ha": health.get("ha"),
        "request_path": request.url.path,
        "lang": lang,
        "tz": zone(control.plan.settings.timezone),
        "tz_name": control.plan.settings.timezone,
        "_": i18n.translator(lang),
        "now": control.clock.now(),
        "user": None,
        "csrf_token": "",
        **context,
    }
    html = ENV.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in i18n.LANGUAGES:
        # an explicit choice sticks; it is a preference, not a secret, but still same-site only
        response.set_cookie(
            i18n.COOKIE, lang, max_age=365 * 86400, samesite="strict", httponly=True
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
