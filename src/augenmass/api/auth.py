"""Logins and server-side sessions.

The cookie holds a random session id; the store keeps only its SHA-256, the user, a CSRF token
and two times (created, last seen) for the absolute and idle timeouts. Ending a session is a
DELETE, so revocation is immediate; a password or role change deletes the user's other sessions.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import unicodedata
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from augenmass.api import accounts
from augenmass.api.accounts import User
from augenmass.api.throttle import LoginThrottle, Refusal
from augenmass.control import Account, SessionInfo

if TYPE_CHECKING:
    from augenmass.control import ServerControl

__all__ = [
    "COOKIE",
    "AuthSettings",
    "Session",
    "Throttled",
    "User",
    "configure",
    "login",
    "logout",
    "lookup_session",
    "set_session_cookie",
    "settings",
]

COOKIE = "augenmass_session"
LOGGED_NAME = 64  # characters of a failed login's name in the log
UNKNOWN_NAME = "(no such account)"  # logged instead of a name that is no account
MAX_SESSIONS = 10  # live sessions per user; an 11th login ends the oldest
log = logging.getLogger(__name__)
TOUCH_EVERY = 60.0  # write last_seen at most once a minute per session, not on every request


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    user: User
    csrf_token: str
    created: float
    last_seen: float
    secret: str = ""  # the cookie value; known only right after login
    secure: bool = True  # the cookie's Secure flag, from AuthSettings.secure_cookies


@dataclass
class AuthSettings:
    idle_timeout: float = 3600.0
    absolute_timeout: float = 12 * 3600.0
    # Browsers accept Secure cookies from http://localhost and 127.0.0.1 (secure contexts);
    # turn it off only for a plain-http deployment on another name, behind nothing.
    secure_cookies: bool = True
    # A new login leaves the user's other devices logged in; beyond this many the oldest end.
    max_sessions: int = MAX_SESSIONS
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


_settings: weakref.WeakKeyDictionary[ServerControl, AuthSettings] = weakref.WeakKeyDictionary()


def settings(control: ServerControl) -> AuthSettings:
    found = _settings.get(control)
    if found is None:
        found = _settings[control] = AuthSettings()
    return found


def configure(control: ServerControl, new: AuthSettings) -> None:
    _settings[control] = new


class Throttled(Exception):
    """The login was refused before the password was looked at; try again after `retry_after`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.reason = refusal.reason
        self.retry_after = max(1, math.ceil(refusal.retry_after))


async def login(
    control: ServerControl, name: str, password: str, source: str = ""
) -> Session | None:
    """A new session for a right name and password; None for a wrong one. Raises `Throttled`
    when the account or the client's address (`source`, hashed at once) has failed too often."""
    conf = settings(control)
    throttle = conf.throttle
    admitted = throttle.admit(name, throttle.source_key(source), control.clock.now())
    if isinstance(admitted, Refusal):
        if admitted.first:  # a sprayer's thousands of refusals: one line, all in /metrics
            known = await accounts.get_user(control.accounts, name) is not None
            _log_failure(name, admitted.reason, known)
        raise Throttled(admitted)
    found = await accounts.get_user(control.accounts, name)
    async with throttle.verifications.slot(admitted.priority):
        ok = await asyncio.to_thread(
            accounts.verify_password, found[1] if found else None, password
        )
    if not ok or found is None:
        throttle.failed(admitted)
        _log_failure(name, "password", found is not None)
        return None
    throttle.succeeded(admitted)
    return await _new_session(control, found[0])


def _log_failure(name: str, reason: str, known: bool) -> None:
    # A name that is no account is not logged: it is often a password typed into the name field
    # (or a sprayer's list). An account's name is the attacker's text too: cut it, and show
    # format characters (bidi overrides, which could reorder the line on a terminal) as
    # escapes; logfmt escapes the rest. Never the address.
    if not known:
        log.warning("login failed", extra={"user": UNKNOWN_NAME, "reason": reason})
        return
    cut = name if len(name) <= LOGGED_NAME else name[:LOGGED_NAME] + "…"
    shown = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c for c in cut)
    log.warning("login failed", extra={"user": shown, "reason": reason})


async def _new_session(control: ServerControl, user: User) -> Session:
    secret = secrets.token_urlsafe(32)
    now = control.clock.now()
    csrf = secrets.token_urlsafe(32)
    conf = settings(control)
    sess = Session(accounts.digest(secret), user, csrf, now, now, secret, conf.secure_cookies)
    stored = SessionInfo(sess.id_hash, Account(user.id, user.name, user.role), csrf, now, now)
    # Abandoned sessions go here, not only when their cookie comes back (it may never).
    await control.accounts.start_session(
        stored,
        idle_before=now - conf.idle_timeout,
        created_before=now - conf.absolute_timeout,
        max_per_user=conf.max_sessions,
    )
    return sess


def set_session_cookie(response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.secret,
        httponly=True,
        secure=session.secure,
        samesite="strict",
        path="/",
    )


async def lookup_session(control: ServerControl, secret: str) -> Session | None:
    """The live session behind a cookie value; an expired one is deleted on sight."""
    if not secret or len(secret) > 200:
        return None
    conf = settings(control)
    id_hash = accounts.digest(secret)
    found = await control.accounts.session(id_hash)
    if found is None:
        return None
    now = control.clock.now()
    if now - found.created > conf.absolute_timeout or now - found.last_seen > conf.idle_timeout:
        await end_session(control, id_hash)
        return None
    if now - found.last_seen > TOUCH_EVERY:
        await control.accounts.touch_session(id_hash, now)
    a = found.account
    user = User(a.id, a.name, a.role)
    return Session(id_hash, user, found.csrf_token, found.created, now, "", conf.secure_cookies)


async def end_session(control: ServerControl, id_hash: str) -> None:
    await control.accounts.end_session(id_hash)


async def end_user_sessions(control: ServerControl, user_id: int) -> None:
    """Revoke every session of a user (an admin's "log out everywhere")."""
    await control.accounts.end_user_sessions(user_id)


async def logout(control: ServerControl, request: Request, response: Response) -> None:
    secret = request.cookies.get(COOKIE, "")
    if secret:
        await end_session(control, accounts.digest(secret))
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=settings(control).secure_cookies, samesite="strict"
    )
