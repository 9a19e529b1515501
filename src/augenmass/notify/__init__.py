"""Notification delivery: outbox, grouping, rendering, channels (email, webhook, Apprise).

The engine (`augenmass.state`) decides when a notification is due and to whom; this package
writes it to the outbox in the store and delivers it, at least once, with retries.

The service is imported on first use, not here: config imports the channel registry
(`augenmass.notify.channels`), and importing any notify module runs this file first, which
must not bring the store along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from augenmass.notify.service import NotificationService, NotifyStats

__all__ = ["NotificationService", "NotifyStats"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from augenmass.notify import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
