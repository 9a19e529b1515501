"""Everything else (Matrix, Telegram, ntfy, Slack …) through Apprise URLs on the contact.

Apprise is synchronous (requests): it runs in a worker thread. Its URLs carry tokens, so its own
logging is silenced and errors name only the URL's scheme. Config: a contact's `apprise:` (or
`channels:`) list of URLs, checked with Apprise itself at check-config time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any, ClassVar

from pydantic import Field

from augenmass.core.messages import Message, Rendered, SendError
from augenmass.core.plan import Contact, NotificationSettings, Plan
from augenmass.notify.channels.base import ChannelModel, KeyPath, NoKeys, SettingsReport

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


class AppriseContactKeys(ChannelModel):
    channels: list[str] = Field(
        default=[], description="Apprise URLs to notify (the same as `apprise`)."
    )
    apprise: list[str] = Field(
        default=[], description="Apprise URLs to notify, e.g. ntfy://, matrix://, tgram://."
    )


class AppriseChannel:
    ContactKeys: ClassVar[type[ChannelModel]] = AppriseContactKeys
    SettingsKeys: ClassVar[type[ChannelModel]] = NoKeys

    @classmethod
    def contact_fields(cls, keys: Any) -> dict[str, Any]:
        assert isinstance(keys, AppriseContactKeys)
        return {"channels": tuple(dict.fromkeys(keys.channels + keys.apprise))}

    @classmethod
    def settings_fields(cls, keys: Any, report: SettingsReport) -> dict[str, Any]:
        return {}

    @classmethod
    def contact_problems(
        cls, contact: Contact, settings: NotificationSettings
    ) -> Iterable[tuple[KeyPath, str]]:
        """Apprise URLs must parse (checked with Apprise itself)."""
        for index, url in enumerate(contact.channels):
            problem = url_problem(url)
            if problem is not None:
                yield ("apprise", index), problem

    @classmethod
    def outbox_names(cls, contact: Contact, settings: NotificationSettings) -> list[str]:
        return ["apprise"] if contact.channels else []

    @classmethod
    def for_outbox(cls, plan: Plan, name: str) -> AppriseChannel | None:
        return cls() if name == "apprise" else None

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        failed = await asyncio.to_thread(_notify, contact.channels, rendered.subject, rendered.text)
        if failed:
            # Apprise does not tell a refused message from an outage: retry (bounded)
            raise SendError(f"apprise: {', '.join(failed)} failed", retry=True)
