"""Registry of notification channels: type -> "module:Class".

A channel is one module here plus one line below. Its class carries its config (the keys it adds
to a contact and to `notifications:`, and their check-config checks; see `base.ChannelType`),
which config finds through this registry, and builds itself for an outbox name. The type is the
outbox channel name, or its prefix before ":" (e.g. "webhook:ops"), so it must never change.

This package imports only core and notify's pure modules (no store, outbox or dispatcher):
config depends on it.
"""

from __future__ import annotations

import functools
import importlib
from typing import cast

from augenmass.core.plan import Contact, NotificationSettings, Plan
from augenmass.notify.channels.base import Channel, ChannelType

# One line per channel. The order is the order of a contact's channels (and of their problems).
CHANNELS: dict[str, str] = {
    "email": "augenmass.notify.channels.email:EmailChannel",
    "webhook": "augenmass.notify.channels.webhook:WebhookChannel",
    "apprise": "augenmass.notify.channels.apprise:AppriseChannel",
}


@functools.cache
def channel_class(kind: str) -> ChannelType:
    """The class registered for `kind` (KeyError: none is). Every channel is part of the
    config schema, so one that cannot be imported is an installation error and raises."""
    module_name, _, class_name = CHANNELS[kind].partition(":")
    return cast(ChannelType, getattr(importlib.import_module(module_name), class_name))


def channel_classes() -> list[ChannelType]:
    """Every registered channel class, in registry order."""
    return [channel_class(kind) for kind in CHANNELS]


def channels_of(contact: Contact, settings: NotificationSettings) -> list[str]:
    """The outbox channel names a contact is reached on."""
    return [name for cls in channel_classes() for name in cls.outbox_names(contact, settings)]


def make_channel(plan: Plan, name: str) -> Channel | None:
    """The channel behind an outbox channel name, from the current plan (None: not configured)."""
    kind = name.partition(":")[0]
    if kind not in CHANNELS:
        return None
    return channel_class(kind).for_outbox(plan, name)


__all__ = ["CHANNELS", "Channel", "ChannelType", "channel_class", "channels_of", "make_channel"]


def unreached_note(plan: Plan) -> str | None:
    """One sentence for the log when problems reach nobody or some contacts have no channel
    that can deliver (an email address while no mail relay is set), else None."""
    if not plan.contacts:
        return (
            "nobody is notified: no contacts are configured (the web UI's dashboard shows the"
            " next steps: a mail relay under notifications.smtp, contacts, contact groups)"
        )
    silent = sorted(
        name
        for name, contact in plan.contacts.items()
        if not channels_of(contact, plan.notifications)
    )
    if not silent:
        return None
    shown = ", ".join(silent[:5]) + (", ..." if len(silent) > 5 else "")
    note = f"{len(silent)} of {len(plan.contacts)} contacts are told nothing ({shown})"
    if plan.notifications.smtp is None and any(plan.contacts[n].email for n in silent):
        note += ": mail is off until notifications.smtp names a relay"
    return note
