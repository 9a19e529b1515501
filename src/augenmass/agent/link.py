"""The agent's HTTP(S) link to the server (aiohttp): fetch checks, send batches.

The token is sent as a Bearer header and never logged; answers are returned as
(status, JSON or None) and every transport failure becomes status 0.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from augenmass import __version__

TIMEOUT = 30.0


class Link:
    def __init__(self, server: str, token: str, timeout: float = TIMEOUT) -> None:
        self.server = server.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"augenmass-agent/{__version__}",
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON or None, headers); status 0: no answer (the reason as JSON)."""
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        send = dict(headers or {})
        if data is not None:
            send["Content-Type"] = "application/json"
        try:
            # None would mean "no limit" to aiohttp: pass a timeout only to shorten the session's
            extra: dict[str, Any] = {}
            if timeout is not None:
                extra["timeout"] = aiohttp.ClientTimeout(total=timeout)
            async with self._open().request(
                method, self.server + path, data=data, headers=send, **extra
            ) as resp:
                raw = await resp.read()
                try:
                    decoded = json.loads(raw) if raw else None
                except ValueError:
                    decoded = None
                return resp.status, decoded, dict(resp.headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return 0, {"detail": f"{type(exc).__name__}: {exc}"}, {}
