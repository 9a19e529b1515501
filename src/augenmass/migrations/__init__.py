"""Alembic migrations for the store (run by augenmass.store.engine.migrate)."""
