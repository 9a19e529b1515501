"""Tables of notification delivery: the outbox and the notification log.

The outbox holds one row per notification, contact and channel, written in one transaction
before anything is sent; a row leaves `pending` only when the channel confirmed it (`sent`) or
gave up on it (`failed`). The log keeps who (the contact's NAME, never an address), when, which
channel and the result of every attempt.
"""

from __future__ import annotations

import sqlalchemy as sa

from augenmass.store.schema import BigId, metadata

notify_outbox = sa.Table(
    "notify_outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("due", sa.Float, nullable=False),  # earliest next attempt
    sa.Column("status", sa.String(8), nullable=False),  # pending | sent | failed
    sa.Column("contact", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),  # email | webhook:NAME | apprise
    sa.Column("type", sa.Text, nullable=False),  # PROBLEM, RECOVERY, ...
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),  # '' for a host
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),  # when the engine raised it
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON: escalated, author, comment, ...
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Column("message_id", sa.Text, nullable=False),  # of the message that carried it
    sa.Index("ix_notify_outbox_status_due", "status", "due"),
    sa.Index("ix_notify_outbox_thread", "contact", "host", "service"),
)

notify_log = sa.Table(
    "notify_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("contact", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),  # of the first notification in the message
    sa.Column("checks", sa.Text, nullable=False),  # e.g. "www1/website, 3 more"
    sa.Column("notifications", sa.Integer, nullable=False),
    sa.Column("result", sa.String(8), nullable=False),  # sent | retry | failed
    sa.Column("detail", sa.Text, nullable=False),  # the error, addresses removed
    sa.Index("ix_notify_log_at", "at"),
)
