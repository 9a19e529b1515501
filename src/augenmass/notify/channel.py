"""The one small interface every channel implements, and the per-contact channel list."""

from __future__ import annotations

from typing import Protocol

from augenmass.core.plan import Contact, NotificationSettings
from augenmass.notify.items import Message, Rendered


class Channel(Protocol):
    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        """Deliver, or raise SendError(reason, retry=...)."""
        ...


def channels_of(contact: Contact, settings: NotificationSettings) -> list[str]:
    """The outbox channel names a contact is reached on."""
    names: list[str] = []
    if contact.email and settings.smtp is not None:
        names.append("email")
    names.extend(f"webhook:{name}" for name in contact.webhooks if name in settings.webhooks)
    if contact.channels:
        names.append("apprise")
    return names
