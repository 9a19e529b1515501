"""The login form under the throttle: the page says how long to wait (and HTTP says 429)."""

from __future__ import annotations

import re

import httpx

from augenmass.api import auth
from augenmass.api.throttle import LoginThrottle
from augenmass.server.control import Control
from augenmass.server.server import Server
from augenmass.web.site import create_site

from .helpers import PASSWORD, add_user, post_login


async def test_a_locked_account_gets_a_wait_message_not_a_wrong_password(server: Server) -> None:
    await add_user(server, "vera", "viewer")
    control = Control(server)
    auth.configure(control, auth.AuthSettings(throttle=LoginThrottle(base_delay=60)))
    transport = httpx.ASGITransport(app=create_site(control))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        for _ in range(3):
            wrong = await post_login(c, "vera", "not-her-password")
            assert wrong.status_code == 401 and "Wrong name or password." in wrong.text
        locked = await post_login(c, "vera", PASSWORD)
        assert locked.status_code == 429
        assert re.search(r"Too many attempts: try again in (59|60) s\.", locked.text)
        assert locked.headers["retry-after"] in ("59", "60")
        assert auth.COOKIE not in c.cookies
        token = c.cookies["augenmass_login"]
        form = {"name": "vera", "password": PASSWORD, "login_token": token}
        german = await c.post("/login?lang=de", data=form)
        assert "Zu viele Versuche: bitte in" in german.text
