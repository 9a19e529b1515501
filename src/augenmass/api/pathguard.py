"""Paths no route can mean, answered 404 before any route sees them.

A NUL byte, another control character, percent-encoded bytes that are not UTF-8, or a `.`/`..`
segment (also written %2e or with %2f) made the file system calls of a route fail with a 500
and a traceback in the log for every such request, unauthenticated. Pure ASGI and cheap: the
one check runs on the raw path before anything else.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_CONTROL = frozenset(range(0x20)) | {0x7F}


def bad_path(raw: bytes) -> bool:
    path = unquote_to_bytes(raw) if b"%" in raw else raw
    if any(b in _CONTROL for b in path):
        return True
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return b"/." in path and any(seg in (b".", b"..") for seg in path.split(b"/"))


class PathGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "replace")
            if bad_path(raw):
                await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
                return
        await self.app(scope, receive, send)
