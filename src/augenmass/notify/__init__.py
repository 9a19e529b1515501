"""Notification delivery: outbox, grouping, rendering, channels (email, webhook, Apprise).

The engine (`augenmass.state`) decides when a notification is due and to whom; this package
writes it to the outbox in the store and delivers it, at least once, with retries.
"""

from __future__ import annotations

from augenmass.notify.service import NotificationService, NotifyStats

__all__ = ["NotificationService", "NotifyStats"]
