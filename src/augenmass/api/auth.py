"""Logins and server-side sessions.

The cookie holds a random session id; the store keeps only its SHA-256, the user, a CSRF token
and two times (created, last seen) for the absolute and idle timeouts. Ending a session is a
DELETE, so revocation is immediate; a password or role change deletes the user's other sessions.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from augenmass.api import accounts
from augenmass.api.accounts import User
from augenmass.api.throttle import LoginThrottle
from augenmass.store.auth_schema import sessions, users

if TYPE_CHECKING:
    from augenmass.server.server import Server

__all__ = [
    "COOKIE",
    "AuthSettings",
    "Session",
    "User",
    "configure",
    "login",
    "logout",
    "lookup_session",
    "set_session_cookie",
    "settings",
]

COOKIE = "augenmass_session"
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
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


_settings: weakref.WeakKeyDictionary[Server, AuthSettings] = weakref.WeakKeyDictionary()


def settings(server: Server) -> AuthSettings:
    found = _settings.get(server)
    if found is None:
        found = _settings[server] = AuthSettings()
    return found


def configure(server: Server, new: AuthSettings) -> None:
    _settings[server] = new


async def login(server: Server, name: str, password: str) -> Session | None:
    """A new session for a right name and password; None otherwise (also while throttled)."""
    conf = settings(server)
    throttle = conf.throttle
    if throttle.retry_after(name, server.clock.now()) > 0:
        return None
    found = await accounts.get_user(server.store.engine, name)
    async with throttle.verifications:
        ok = await asyncio.to_thread(
            accounts.verify_password, found[1] if found else None, password
        )
    if not ok or found is None:
        throttle.failed(name, server.clock.now())
        return None
    throttle.succeeded(name)
    return await _new_session(server, found[0])


async def _new_session(server: Server, user: User) -> Session:
    secret = secrets.token_urlsafe(32)
    now = server.clock.now()
    csrf = secrets.token_urlsafe(32)
    sess = Session(
        accounts.digest(secret), user, csrf, now, now, secret, settings(server).secure_cookies
    )
    conf = settings(server)
    s = sessions.c
    async with server.store.engine.begin() as conn:
        # Abandoned sessions go here, not only when their cookie comes back (it may never).
        await conn.execute(
            sa.delete(sessions).where(
                (s.last_seen < now - conf.idle_timeout) | (s.created < now - conf.absolute_timeout)
            )
        )
        await conn.execute(
            sa.insert(sessions).values(
                id_hash=sess.id_hash,
                user_id=user.id,
                csrf_token=sess.csrf_token,
                created=now,
                last_seen=now,
            )
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


async def lookup_session(server: Server, secret: str) -> Session | None:
    """The live session behind a cookie value; an expired one is deleted on sight."""
    if not secret or len(secret) > 200:
        return None
    conf = settings(server)
    id_hash = accounts.digest(secret)
    s, u = sessions.c, users.c
    q = (
        sa.select(s.user_id, s.csrf_token, s.created, s.last_seen, u.name, u.role)
        .join(users, u.id == s.user_id)
        .where(s.id_hash == id_hash)
    )
    eng = server.store.engine
    async with eng.connect() as conn:
        row = (await conn.execute(q)).first()
    if row is None:
        return None
    now = server.clock.now()
    if now - row.created > conf.absolute_timeout or now - row.last_seen > conf.idle_timeout:
        await end_session(server, id_hash)
        return None
    if now - row.last_seen > TOUCH_EVERY:
        async with eng.begin() as conn:
            await conn.execute(
                sa.update(sessions).where(s.id_hash == id_hash).values(last_seen=now)
            )
    user = User(int(row.user_id), row.name, row.role)
    return Session(id_hash, user, row.csrf_token, row.created, now, "", conf.secure_cookies)


async def end_session(server: Server, id_hash: str) -> None:
    async with server.store.engine.begin() as conn:
        await conn.execute(sa.delete(sessions).where(sessions.c.id_hash == id_hash))


async def end_user_sessions(server: Server, user_id: int) -> None:
    """Revoke every session of a user (an admin's "log out everywhere")."""
    async with server.store.engine.begin() as conn:
        await conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id))


async def logout(server: Server, request: Request, response: Response) -> None:
    secret = request.cookies.get(COOKIE, "")
    if secret:
        await end_session(server, accounts.digest(secret))
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=settings(server).secure_cookies, samesite="strict"
    )
