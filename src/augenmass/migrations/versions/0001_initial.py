"""Initial store schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

A frozen copy of the tables at this revision: it must not import augenmass.store.schema,
which keeps changing after this file is written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("series_id", sa.BigInteger, primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sa.Column("avg", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index(f"ix_{name}_bucket", name, ["bucket"])


def upgrade() -> None:
    op.create_table(
        "check_state",
        sa.Column("host", sa.Text, primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("state", sa.SmallInteger, nullable=False),
        sa.Column("state_type", sa.String(4), nullable=False),
        sa.Column("checked", sa.Boolean, nullable=False),
        sa.Column("acknowledged", sa.Boolean, nullable=False),
        sa.Column("flapping", sa.Boolean, nullable=False),
        sa.Column("last_check", sa.Float, nullable=False),
        sa.Column("last_state_change", sa.Float, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "downtime",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "event",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("state", sa.SmallInteger, nullable=False),
        sa.Column("state_type", sa.String(4), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_event_key_at", "event", ["host", "service", "at"])
    op.create_index("ix_event_at", "event", ["at"])
    op.create_table(
        "result",
        sa.Column("host", sa.Text, primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("long_output", sa.Text, nullable=False),
        sa.Column("perfdata", sa.Text, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("passive", sa.Boolean, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
    )
    op.create_table(
        "series",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("uom", sa.Text, nullable=False),
        sa.UniqueConstraint("host", "service", "label", name="uq_series_key_label"),
    )
    op.create_table(
        "point",
        sa.Column("series_id", sa.BigInteger, primary_key=True),
        sa.Column("ts", sa.Float, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_point_ts", "point", ["ts"])
    _rollup("rollup_5m")
    _rollup("rollup_1h")
    op.create_table(
        "store_meta",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "store_meta",
        "rollup_1h",
        "rollup_5m",
        "point",
        "series",
        "result",
        "event",
        "downtime",
        "check_state",
    ):
        op.drop_table(name)
