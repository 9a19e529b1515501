"""Tables of active/standby servers sharing one PostgreSQL store (unused on SQLite).

`cluster_lease` holds one row: which node is active, its fencing token (counted up at every
takeover) and when its lease expires, in the database's clock. `cluster_command` carries the
operator actions a standby server received to the active one, which applies and deletes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from augenmass.store.schema import BigId, metadata

LEASE_ID = 1  # the one row

cluster_lease = sa.Table(
    "cluster_lease",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.Text, nullable=False),  # the node name ('' before the first)
    sa.Column("token", sa.BigInteger, nullable=False),  # fencing token: +1 per takeover
    sa.Column("expires", sa.DateTime(timezone=True), nullable=False),  # database clock
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),  # this holder's takeover
)

cluster_command = sa.Table(
    "cluster_command",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("origin", sa.Text, nullable=False),  # the node that received it
    sa.Column("command", sa.Text, nullable=False),  # JSON, the command spool's format
)
