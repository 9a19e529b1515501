"""FastAPI dependencies: the server control, the logged-in user, roles, CSRF and API tokens.

Shared with the web UI (`augenmass.web`), which wraps `require_role` to redirect to its login
page instead of answering 401.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from augenmass.api import accounts, auth
from augenmass.api.accounts import ROLES, Token, User

if TYPE_CHECKING:
    from augenmass.control import ServerControl

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a scope stands for when a logged-in user instead of a token calls the API.
SCOPE_ROLE = {"read": "viewer", "write": "operator", "submit": "operator", "admin": "admin"}


def get_control(request: Request) -> ServerControl:
    control: ServerControl = request.app.state.control
    return control


async def current_session(request: Request) -> auth.Session | None:
    """The request's live session (looked up once per request)."""
    if hasattr(request.state, "session"):
        cached: auth.Session | None = request.state.session
        return cached
    secret = request.cookies.get(auth.COOKIE, "")
    sess = await auth.lookup_session(get_control(request), secret) if secret else None
    request.state.session = sess
    return sess


async def current_user(request: Request) -> User | None:
    sess = await current_session(request)
    return None if sess is None else sess.user


def require_role(role: str) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the logged-in user with at least `role`; 401 when none, 403 when lower."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(request: Request) -> User:
        user = await current_user(request)
        if user is None:
            raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Session"})
        if not user.has_role(role):
            raise HTTPException(403, f"this needs the {role} role")
        return user

    return dependency


async def require_csrf(request: Request) -> None:
    """403 unless the header X-CSRF-Token or the form field csrf_token matches the session's."""
    sess = await current_session(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it for the handler
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if sess is None or not sent or not hmac.compare_digest(sent, sess.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")


def foreign_origin(request: Request) -> bool:
    """True when the browser says the request was sent by a page of another site: Sec-Fetch-Site
    says cross-site, or its Origin (else Referer) names neither this request's Host nor the
    configured base_url. An absent or "null" origin decides nothing (privacy settings send
    those); a CSRF token must then."""
    if request.headers.get("sec-fetch-site") == "cross-site":  # browsers say so themselves
        return True
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return False
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    allowed = {request.headers.get("host", "").lower()}
    base_url = get_control(request).plan.settings.base_url
    if base_url:
        allowed.add(urlsplit(base_url).netloc.lower())
    return netloc not in allowed


def _bearer(request: Request) -> str | None:
    """The token secret of the request; None without an Authorization header, "" for one that
    carries none. Bearer, or Basic with the token's name as user and the token as password
    (Icinga 2 clients and `curl -u` send that)."""
    found = credentials(request)
    return None if found is None else found[1]


def credentials(request: Request) -> tuple[str | None, str] | None:
    """(token name or None, secret) from the Authorization header; None: there is none."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return None, value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, ""
        name, sep, secret = decoded.partition(":")
        return (name, secret) if sep else (None, "")
    return None, ""


async def find_token(request: Request) -> Token | None:
    """The token the request authenticates with; a Basic user name must be the token's."""
    found = credentials(request)
    if found is None:
        return None
    name, secret = found
    token = await accounts.find_token(get_control(request).accounts, secret)
    if token is None or (
        name is not None and not hmac.compare_digest(name.encode(), token.name.encode())
    ):
        return None
    return token


def token_scope(scope: str) -> Callable[[Request], Awaitable[Token]]:
    """A dependency for API tokens: 401 for a missing or wrong token, 403 for a wrong scope."""

    async def dependency(request: Request) -> Token:
        token = await find_token(request)
        if token is None:
            raise HTTPException(
                401, "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"}
            )
        if token.agent is not None:
            raise HTTPException(
                403, f"this is agent {token.agent}'s token: it is taken only under /api/agent/"
            )
        if scope not in token.scopes:
            raise HTTPException(403, f"this token lacks the {scope!r} scope")
        return token

    return dependency


async def agent_token(request: Request) -> str:
    """A dependency: the name of the agent whose token calls (401 none or wrong, 403 not an
    agent's token or an agent no longer in the configuration)."""
    token = await accounts.find_token(get_control(request).accounts, _bearer(request) or "")
    if token is None:
        raise HTTPException(
            401, "missing, wrong or revoked API token", headers={"WWW-Authenticate": "Bearer"}
        )
    agent = token.agent
    if agent is None or "submit" not in token.scopes:
        raise HTTPException(
            403, "not an agent's token: create one with `augenmass token create NAME --agent AGENT`"
        )
    if agent not in get_control(request).plan.agents:
        raise HTTPException(403, f"agent {agent!r} is not in the configuration (agents:)")
    return agent


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: a token ("token:NAME") or a user; the name goes into the audit log."""

    name: str
    user: User | None = None


def principal(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """API access by token (with `scope`) or by session (with the matching role, and a CSRF
    token on anything that changes state)."""
    by_token = token_scope(scope)
    by_role = require_role(SCOPE_ROLE[scope])

    async def dependency(request: Request) -> Principal:
        if _bearer(request) is not None:
            token = await by_token(request)
            return Principal(f"token:{token.name}")
        user = await by_role(request)
        if request.method not in SAFE_METHODS:
            await require_csrf(request)
        return Principal(user.name, user)

    return dependency
