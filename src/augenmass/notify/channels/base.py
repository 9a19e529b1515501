"""What a channel is: an object that sends (`Channel`) and a class that carries its config
(`ChannelType`): the keys it adds to a contact and to `notifications:`, how those become Plan
fields, the check-config checks on a contact, and the outbox names a contact is reached on.

Only core and the pure parts of notify are imported here and in the channel modules: config
looks the channels up, so nothing of the store may come along.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from augenmass.core.messages import Message, Rendered
from augenmass.core.plan import Contact, NotificationSettings, Plan

KeyPath = tuple[str | int, ...]


class Channel(Protocol):
    """A channel may also offer `send_then(message, rendered, contact, confirmed)`, which awaits
    `confirmed()` (the dispatcher's "sent" mark) the moment the receiver took the message and
    before it closes its connection (the mail channel does)."""

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        """Deliver, or raise SendError(reason, retry=...)."""
        ...


class ChannelModel(BaseModel):
    """Base of a channel's config keys: unknown keys and loose types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class NoKeys(ChannelModel):
    """For a channel that adds no keys to a contact or to `notifications:`."""


class SettingsReport(Protocol):
    """Given by config while it builds the `notifications:` section. Paths start at the key
    under `notifications:` (e.g. ("smtp", "password"))."""

    def secret(self, value: str, *path: str | int) -> str:
        """`value` with `${ENV}` expanded; a variable that is not set is reported."""
        ...

    def problem(self, message: str, *path: str | int) -> None: ...


class ChannelType(Protocol):
    """The class side of a channel, registered in `augenmass.notify.channels.CHANNELS`."""

    # keys this channel adds to a contact (merged into the contact model by config)
    ContactKeys: ClassVar[type[ChannelModel]]
    # keys this channel adds to the `notifications:` section
    SettingsKeys: ClassVar[type[ChannelModel]]

    @classmethod
    def contact_fields(cls, keys: Any) -> dict[str, Any]:
        """The contact's values from a `ContactKeys`: a name of a core.plan.Contact field fills
        that field, any other lands in `Contact.channel_keys[name]`."""
        ...

    @classmethod
    def settings_fields(cls, keys: Any, report: SettingsReport) -> dict[str, Any]:
        """The settings from a `SettingsKeys`: a name of a NotificationSettings field fills
        that field, any other lands in `NotificationSettings.channel_settings[name]`."""
        ...

    @classmethod
    def contact_problems(
        cls, contact: Contact, settings: NotificationSettings
    ) -> Iterable[tuple[KeyPath, str]]:
        """check-config problems of a contact's keys of this channel: (path, message)."""
        ...

    @classmethod
    def outbox_names(cls, contact: Contact, settings: NotificationSettings) -> list[str]:
        """The outbox channel names (this type's name, or "name:detail") that reach `contact`."""
        ...

    @classmethod
    def for_outbox(cls, plan: Plan, name: str) -> Channel | None:
        """The channel behind an outbox name of this type (None: not configured)."""
        ...
