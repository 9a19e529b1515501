"""The active/standby lease and the commands a standby passes on.

Revision ID: 0004
Revises: 0003

A frozen copy of `augenmass.store.cluster_schema` at this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cluster_lease",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cluster_command",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("command", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_command")
    op.drop_table("cluster_lease")
