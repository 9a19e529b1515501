"""Everything else (Matrix, Telegram, ntfy, Slack …) through Apprise URLs on the contact.

Apprise is synchronous (requests): it runs in a worker thread. Its URLs carry tokens, so its own
logging is silenced and errors name only the URL's scheme.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Iterator
from types import ModuleType

from augenmass.core.plan import Contact
from augenmass.notify.items import Message, Rendered, SendError

logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)


@contextlib.contextmanager
def _quiet() -> Iterator[ModuleType]:
    """Apprise, imported late (it is big) and used quietly: it loads plugins lazily, some of
    which import the deprecated `imghdr`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        yield apprise


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def url_problem(url: str) -> str | None:
    """None when Apprise understands the URL; else a message without the URL's secrets."""
    if "://" not in url:
        return "malformed Apprise URL: expected scheme://..."
    with _quiet() as apprise:
        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            return f"malformed or unsupported Apprise URL ({_scheme(url)}://...)"
    return None


def _notify(urls: tuple[str, ...], title: str, body: str) -> list[str]:
    failed: list[str] = []
    with _quiet() as apprise:
        for url in urls:
            obj = apprise.Apprise()
            if not obj.add(url) or not obj.notify(title=title, body=body):
                failed.append(_scheme(url))
    return failed


class AppriseChannel:
    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        failed = await asyncio.to_thread(_notify, contact.channels, rendered.subject, rendered.text)
        if failed:
            # Apprise does not tell a refused message from an outage: retry (bounded)
            raise SendError(f"apprise: {', '.join(failed)} failed", retry=True)
