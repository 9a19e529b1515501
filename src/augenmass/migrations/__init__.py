"""Alembic migrations for the store (run by augenmass.store.database.migrate)."""
