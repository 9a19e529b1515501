"""The one small interface every channel implements, and the per-contact channel list.

Both live in `augenmass.notify.channels` (the channel registry); kept here for importers."""

from __future__ import annotations

from augenmass.notify.channels import Channel, channels_of

__all__ = ["Channel", "channels_of"]
