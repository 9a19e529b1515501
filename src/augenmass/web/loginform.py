"""The login form's CSRF defence (login CSRF: another site logging a browser into an account of
the attacker's, whose pages then see what the victim types).

There is no session yet, so the token is a double-submit cookie: GET /login sets a random value
in an HttpOnly, SameSite=Strict cookie scoped to /login and puts the same value in a hidden field;
POST /login needs both to match. Another site can neither read the cookie nor make the browser
send it, so its forms fail even where Origin is stripped (a proxy, a privacy setting). A foreign
Origin is refused on top of that (`deps.foreign_origin`).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

COOKIE = "augenmass_login"
FIELD = "login_token"
PATH = "/login"


def token_for(request: Request) -> str:
    """The browser's current token (several open login tabs share one), or a new one."""
    current = request.cookies.get(COOKIE, "")
    if 30 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum():
        return current
    return secrets.token_urlsafe(32)


def set_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE, token, httponly=True, secure=secure, samesite="strict", path=PATH)


def valid(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(COOKIE, "")
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie, sent)
