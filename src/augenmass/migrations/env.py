"""Alembic environment: always called programmatically with a live connection.

augenmass.store.database.migrate passes the connection in `config.attributes["connection"]`, so
migrations run inside the store's own engine (async drivers included, via run_sync).
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("augenmass migrations run only through augenmass.store (open_store)")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
