"""`augenmass backup`, `augenmass restore` and `augenmass db status|upgrade`: the store's data.

Backup works while the server runs; restore and upgrade refuse to (they take the data
directory's lock, which a running server holds). PostgreSQL stores are backed up with the
database's own tools: the commands print the pg_dump / pg_restore line to use.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from augenmass.cli.defaults import DEFAULT_DATA, DataOpt

data_app = typer.Typer(no_args_is_help=True)
db_app = typer.Typer(no_args_is_help=True, help="Schema revision and migrations of the store.")

StoreOpt = Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _url(data: Path, store: str | None) -> str:
    return store or f"sqlite:///{data / 'augenmass.db'}"


def _shown(url: str) -> str:
    from augenmass.store.urls import printable_url

    return printable_url(url)


def _sqlite_file(url: str) -> Path | None:
    from augenmass.core.datadir import check_file
    from augenmass.core.errors import DataPathError
    from augenmass.store.urls import sqlite_path

    try:
        path = sqlite_path(url)
        if path is not None:
            check_file(path, "the database", writable=False)  # e.g. a directory: said at once
    except (ValueError, DataPathError) as exc:
        _fail(str(exc))
    return path


def _pg_parts(url: str) -> tuple[str, str | None]:
    from augenmass.store.urls import libpq_url

    return libpq_url(url)


def _size(n: int) -> str:
    return f"{n:,} bytes ({n / 1024 / 1024:.1f} MiB)"


@data_app.command()
def backup(
    file: Annotated[
        Path, typer.Argument(help="where to write the copy (a directory: a dated name in it)")
    ],
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Write a consistent copy of the store to FILE (safe while the server runs)."""
    from augenmass.core.errors import StoreError
    from augenmass.store.backup import backup_sqlite

    url = _url(data, store)
    path = _sqlite_file(url)
    if path is None:
        libpq, schema = _pg_parts(url)
        only = f" --schema={schema}" if schema else ""
        _fail(
            "a PostgreSQL store is backed up with PostgreSQL's own tool; nothing was written. "
            f"Run:\n  pg_dump --format=custom{only} --file={file} '{libpq}'\n"
            "(it asks for the password, or reads PGPASSWORD / ~/.pgpass)"
        )
    try:
        rep = backup_sqlite(path, file)
    except StoreError as exc:
        _fail(str(exc))
    typer.echo(
        f"backup of {path} written to {rep.path}: {_size(rep.size)} in {rep.seconds:.2f} s "
        f"(schema revision {rep.revision})"
    )


@data_app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="a file written by `augenmass backup`")],
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Replace the store of a STOPPED server with FILE (the old one is kept aside)."""
    from augenmass.core.datalock import DataDirBusy
    from augenmass.core.errors import StoreError
    from augenmass.store.backup import restore_sqlite
    from augenmass.store.revisions import head_revision

    if store is not None and _sqlite_file(store) is None:
        libpq, _ = _pg_parts(store)
        _fail(
            "a PostgreSQL store is restored with PostgreSQL's own tool, with the server "
            f"stopped; nothing was changed. Run:\n  pg_restore --clean --if-exists "
            f"--dbname='{libpq}' {file}"
        )
    if store is not None:
        _fail("restore works on a data directory: use --data DIR")
    try:
        rep = restore_sqlite(file, data)
    except DataDirBusy as exc:
        _fail(f"{exc}: stop it first; nothing was changed")
    except StoreError as exc:
        _fail(str(exc))
    typer.echo(f"restored {file} into {rep.database}: {_size(rep.size)}, schema {rep.revision}")
    if rep.kept_aside is not None:
        typer.echo(f"the database it replaced is kept as {rep.kept_aside}")
    head = head_revision()
    if rep.revision != head:
        typer.echo(f"the server upgrades it to schema {head} at start (or: augenmass db upgrade)")


def _read_revision(url: str) -> str | None:
    from augenmass.core.errors import StoreError
    from augenmass.store.revisions import read_revision

    try:
        return asyncio.run(read_revision(url))
    except StoreError as exc:
        _fail(str(exc))


@db_app.command("status")
def db_status(data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """Current and newest schema revision, and the migrations an upgrade would run."""
    from augenmass.store import revisions

    url = _url(data, store)
    path = _sqlite_file(url)
    typer.echo(f"database: {path if path is not None else _shown(url)}")
    exists = path is None or path.is_file()
    current = _read_revision(url) if exists else None
    head = revisions.head_revision()
    if not exists:
        typer.echo("current revision: none (no database yet: the server creates it)")
    else:
        typer.echo(f"current revision: {current or 'none (empty database)'}")
    typer.echo(f"head revision: {head}")
    try:
        pending = revisions.pending_revisions(current)
    except revisions.SchemaTooNew as exc:
        _fail(str(exc))
    typer.echo(f"pending migrations: {len(pending)}")
    for rev, title in pending:
        typer.echo(f"  {rev}  {title}")


@db_app.command("upgrade")
def db_upgrade(data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """Run the pending migrations (with the server stopped)."""
    import contextlib

    from augenmass.core.datadir import check_file
    from augenmass.core.datalock import DataDirBusy, exclusive
    from augenmass.core.errors import StoreError
    from augenmass.store import revisions

    url = _url(data, store)
    path = _sqlite_file(url)
    where = path if path is not None else _shown(url)
    try:
        current = _read_revision(url) if path is None or path.is_file() else None
        pending = revisions.pending_revisions(current)
        if not pending:
            typer.echo(f"{where}: already at schema {current}; nothing to do")
            return
        if path is not None:
            check_file(path, "the database")
        # SQLite: a server running on the directory must not see its schema change under it.
        guard = (
            exclusive(path.parent, "db upgrade") if path is not None else contextlib.nullcontext()
        )
        with guard:
            before, after = asyncio.run(revisions.upgrade(url))
    except DataDirBusy as exc:
        _fail(f"{exc}: stop it first; nothing was changed")
    except StoreError as exc:
        _fail(str(exc))
    typer.echo(f"{where}: upgraded from {before or 'an empty database'} to {after}")
    for rev, title in pending:
        typer.echo(f"  applied {rev}  {title}")


data_app.add_typer(db_app, name="db")
