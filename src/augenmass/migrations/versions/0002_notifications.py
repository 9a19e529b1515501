"""Notifications: outbox and notification log.

Revision ID: 0002
Revises: 0001

A frozen copy of the tables at this revision (see 0001 for why it does not import the schema).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("due", sa.Float, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("state", sa.SmallInteger, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=True),
        sa.Column("message_id", sa.Text, nullable=False),
    )
    op.create_index("ix_notify_outbox_status_due", "notify_outbox", ["status", "due"])
    op.create_index("ix_notify_outbox_thread", "notify_outbox", ["contact", "host", "service"])
    op.create_table(
        "notify_log",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("checks", sa.Text, nullable=False),
        sa.Column("notifications", sa.Integer, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_notify_log_at", "notify_log", ["at"])


def downgrade() -> None:
    op.drop_table("notify_log")
    op.drop_table("notify_outbox")
