"""Operator actions as command-spool JSON, for a standby server to pass on (server/role.py).

The same format as `augenmass acknowledge|downtime|...` writes (server/spool.py), so the
active server applies both with one parser.
"""

from __future__ import annotations

from augenmass.core.values import Acknowledgement, CheckKey, Downtime


def key_action(action: str, key: CheckKey) -> dict[str, object]:
    return {"action": action, "host": key.host, "service": key.service}


def acknowledge(key: CheckKey, ack: Acknowledgement) -> dict[str, object]:
    return {
        **key_action("acknowledge", key),
        "author": ack.author,
        "comment": ack.comment,
        "sticky": ack.sticky,
        "notify": ack.notify,
        "persistent": ack.persistent,
        "expires": ack.expires_at,
    }


def downtime(dt: Downtime) -> dict[str, object]:
    return {
        **key_action("downtime", dt.key),
        "id": dt.id,
        "start": dt.start,
        "end": dt.end,
        "fixed": dt.fixed,
        "duration": dt.duration,
        "author": dt.author,
        "comment": dt.comment,
        "all_services": dt.all_services,
    }
