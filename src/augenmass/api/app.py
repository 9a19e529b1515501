"""The FastAPI application: the JSON API under /api and /metrics (web/site.py adds the UI).

Nothing here logs or keeps a client address: there is no access log, errors are logged with the
path only, and the proxy headers (X-Forwarded-For ...) are read only by the listener, only from
`settings.http.trusted_proxies`.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from augenmass import __version__
from augenmass.api import metrics
from augenmass.api.agents import router as agents_router
from augenmass.api.deps import get_control, principal
from augenmass.api.icinga import router as icinga_router
from augenmass.api.pathguard import PathGuard
from augenmass.api.ping import router as ping_router
from augenmass.api.routes import router as api_router

if TYPE_CHECKING:
    from augenmass.control import ServerControl

log = logging.getLogger("augenmass.http")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        b"object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


MAX_BODY = 1024 * 1024  # the largest legitimate body is a passive result with 64 KiB output


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class SecurityHeaders:
    """Adds the security headers to every response (pure ASGI: no buffering); refuses bodies
    over MAX_BODY with 413 before they are held in memory; answers an unexpected exception
    with a plain 500 itself, so that answer carries the headers too (Starlette's own 500 comes
    from outside every middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        too_large = _declared_length(scope) > MAX_BODY
        received = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        async def bounded_receive() -> Message:
            # Chunked bodies have no Content-Length: count what arrives, and cut it off.
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        try:
            if not too_large:
                await self.app(scope, bounded_receive, send_with_headers)
        except Exception as exc:
            if started:
                raise  # too late for a clean answer; the server closes the connection
            if not too_large:
                log.error(
                    "request failed",
                    extra={"method": scope.get("method", ""), "path": _loggable(scope)},
                    exc_info=exc,
                )
                failed = JSONResponse({"detail": "internal error; see the server log"}, 500)
                await failed(scope, receive, send_with_headers)
                return
        if too_large and not started:
            too_large = False  # lets the 413 itself through
            refused = JSONResponse({"detail": f"request body over {MAX_BODY} bytes"}, 413)
            await refused(scope, receive, send_with_headers)


def _loggable(scope: Scope) -> str:
    """The path for the log; a ping URL's key is a secret and stays out."""
    path = str(scope.get("path", ""))
    return "/ping/…" if path.startswith("/ping/") else path


def _problem(err: Any) -> dict[str, Any]:
    # Never echo the offending input back: it may be a password or a token.
    loc = [str(p) for p in err.get("loc", ()) if p != "body"]
    return {"field": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))}


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return JSONResponse(
        {"detail": f"{first['field']}: {first['message']}", "problems": problems}, 422
    )


def create_app(control: ServerControl) -> FastAPI:
    """The app over the one interface to the running server (`augenmass.control`)."""
    app = FastAPI(
        title="augenmass",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,  # the Swagger page needs a CDN, which the CSP (rightly) blocks
        redoc_url=None,
    )
    app.state.control = control
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(api_router)
    app.include_router(agents_router)
    app.include_router(icinga_router)
    app.include_router(ping_router)

    # Host names and figures are not public: Prometheus scrapes with a `read` token.
    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(principal("read"))])
    async def prometheus(request: Request) -> Response:
        body = metrics.render(get_control(request)).encode()
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return Response(body, 200, {"Vary": "Accept-Encoding"}, metrics.CONTENT_TYPE)
        # Prometheus asks for gzip: 10,000 services are 5.5 MB of text, 0.2 MB compressed;
        # compressed in a thread so the checks sharing this loop do not wait for it
        packed = await asyncio.to_thread(gzip.compress, body, 1)
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(packed, 200, headers, metrics.CONTENT_TYPE)

    app.add_middleware(PathGuard)  # inside SecurityHeaders: its 404 has the headers too
    app.add_middleware(SecurityHeaders)
    return app
