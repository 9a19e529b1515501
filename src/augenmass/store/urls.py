"""A store's URL as the command line shows it and as PostgreSQL's own tools take it."""

from __future__ import annotations

import sqlalchemy as sa

from augenmass.store.database import split_schema, sqlite_path

__all__ = ["libpq_url", "printable_url", "sqlite_path"]


def printable_url(url: str) -> str:
    """The store's URL as it may be shown: the password replaced by ***."""
    return sa.make_url(url).render_as_string(hide_password=True)


def libpq_url(url: str) -> tuple[str, str | None]:
    """A PostgreSQL store's URL as pg_dump takes it, without password or driver, and the
    schema (pg_dump asks for the password or reads it from PGPASSWORD / ~/.pgpass)."""
    rest, schema = split_schema(url)
    u = sa.make_url(rest)
    bare = sa.URL.create("postgresql", u.username, None, u.host, u.port, u.database, query=u.query)
    return bare.render_as_string(hide_password=False), schema
