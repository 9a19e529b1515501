"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL.

The migrations in `augenmass.migrations.versions` create these tables; a test compares the two.
Hot tables (check_state, result, point) carry no secondary index beyond what their queries need.
Keys use service = '' for hosts (not NULL) so one unique key works on both databases.
JSON goes into TEXT columns that we encode ourselves: no jsonb NUL-byte trap on PostgreSQL and
lone surrogates survive as \\u escapes.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

check_state = sa.Table(
    "check_state",
    metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("state_type", sa.String(4), nullable=False),
    sa.Column("checked", sa.Boolean, nullable=False),
    sa.Column("acknowledged", sa.Boolean, nullable=False),
    sa.Column("flapping", sa.Boolean, nullable=False),
    sa.Column("last_check", sa.Float, nullable=False),
    sa.Column("last_state_change", sa.Float, nullable=False),
    sa.Column("output", sa.Text, nullable=False),  # capped summary; the full text is in data
    sa.Column("data", sa.Text, nullable=False),  # model.CheckState as JSON
)

downtime = sa.Table(
    "downtime",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # model.Downtime as JSON
)

event = sa.Table(
    "event",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("state_type", sa.String(4), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_event_key_at", "host", "service", "at"),
    sa.Index("ix_event_at", "at"),
)

# The last N results per check, as a ring: slot = seq % N, upserted in place.
result = sa.Table(
    "result",
    metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("long_output", sa.Text, nullable=False),
    sa.Column("perfdata", sa.Text, nullable=False),  # JSON list of PerfDatum
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("passive", sa.Boolean, nullable=False),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),  # JSON list of str
)

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("uom", sa.Text, nullable=False),
    sa.UniqueConstraint("host", "service", "label", name="uq_series_key_label"),
)

point = sa.Table(
    "point",
    metadata,
    sa.Column("series_id", sa.BigInteger, primary_key=True),
    sa.Column("ts", sa.Float, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_point_ts", "ts"),  # bounded pruning by time
)


def _rollup_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("series_id", sa.BigInteger, primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),  # bucket start, epoch seconds
        sa.Column("avg", sa.Float, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Index(f"ix_{name}_bucket", "bucket"),
    )


rollup_5m = _rollup_table("rollup_5m")
rollup_1h = _rollup_table("rollup_1h")

# Small key/value table for watermarks of the roll-up step.
meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
)
