"""Error answers a person reads: a 404 or 403 for a page opened in a browser is an HTML page in
the reader's language; the API, the fragments htmx fetches and every non-browser client keep
the JSON answer (`{"detail": ...}`) they are written against."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response

from augenmass.web.render import page

# Paths whose clients are programs: their errors stay JSON whatever they accept.
_MACHINE_PATHS = ("/api/", "/v1/", "/ping/", "/metrics", "/ui/", "/static/")

_TEXTS = {
    401: ("Please log in", "This page needs a login."),
    403: ("Not allowed", "Your account may not do this."),
    404: ("Not found", "There is no such page, host or service here."),
    405: ("Not allowed", "This address does not take that kind of request."),
}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(_MACHINE_PATHS) or request.headers.get("hx-request"):
        return False
    return "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400 or not wants_html(request):
        return await http_exception_handler(request, exc)
    title, text = _TEXTS.get(exc.status_code, ("Something went wrong", "The request failed."))
    response = page(
        request,
        "error.html",
        {"status": exc.status_code, "title": title, "text": text},
        status_code=exc.status_code,
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response
