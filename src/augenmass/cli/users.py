"""`augenmass user ...` and `augenmass token ...`: accounts in the store, from the shell.

Works while the server runs (the store is shared; SQLite in WAL mode). A password or role change
ends the user's sessions at once: the server looks every session up in the store.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from augenmass.cli.defaults import DEFAULT_DATA, DataOpt

if TYPE_CHECKING:
    from augenmass.control import AccountStore

T = TypeVar("T")

users_app = typer.Typer(no_args_is_help=True, help="Web and API users.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens (for agents and scripts).")

StoreOpt = Annotated[str | None, typer.Option(help="database URL (default: SQLite in --data)")]


def _run(data: Path, store: str | None, job: Callable[[AccountStore], Awaitable[T]]) -> T:
    # Imported here: `augenmass --help` and the other commands should not pay for them.
    from augenmass.api.accounts import AccountError
    from augenmass.core.clock import SystemClock
    from augenmass.server.control import StoreAccounts
    from augenmass.server.server import db_url
    from augenmass.store import open_store

    async def main() -> T:
        st = await open_store(store or db_url(data))
        try:
            return await job(StoreAccounts(st, SystemClock()))
        finally:
            await st.close()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first: str = typer.prompt("Password", hide_input=True)
    again: str = typer.prompt("Repeat", hide_input=True)
    if first != again:
        typer.echo("error: the passwords differ", err=True)
        raise typer.Exit(1)
    return first


@users_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Add a user (the password is prompted for, or read from stdin: 10+ characters, not a
    common one)."""
    from augenmass.api import accounts

    if role not in accounts.ROLES:
        typer.echo(f"error: unknown role {role!r}", err=True)
        raise typer.Exit(1)
    password = _password(password_stdin)
    user = _run(data, store, lambda acc: accounts.add_user(acc, name, password, role))
    typer.echo(f"added {user.name} ({user.role})")


@users_app.command("passwd")
def user_passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Set a new password (10+ characters, not a common one); the user's sessions end."""
    from augenmass.api import accounts

    password = _password(password_stdin)
    _run(data, store, lambda acc: accounts.set_password(acc, name, password))
    typer.echo(f"password of {name} changed; their sessions ended")


@users_app.command("role")
def user_role(name: str, role: str, data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """Change a user's role; the user's sessions end."""
    from augenmass.api import accounts

    _run(data, store, lambda acc: accounts.set_role(acc, name, role))
    typer.echo(f"{name} is now {role}; their sessions ended")


@users_app.command("delete")
def user_delete(name: str, data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """Delete a user and end their sessions."""
    from augenmass.api import accounts

    _run(data, store, lambda acc: accounts.delete_user(acc, name))
    typer.echo(f"deleted {name}")


@users_app.command("list")
def user_list(data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """List users and roles."""
    from augenmass.api import accounts

    for user in _run(data, store, accounts.list_users):
        typer.echo(f"{user.name}\t{user.role}")


@tokens_app.command("create")
def token_create(
    name: str,
    scope: Annotated[
        str | None, typer.Option(help="comma-separated: read,write,submit (default read)")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(help="the token of this agent (agents: in the config); its hosts only"),
    ] = None,
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from augenmass.api import accounts

    try:
        scopes = accounts.parse_scopes(scope or ("submit" if agent else "read"))
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    secret = _run(data, store, lambda acc: accounts.create_token(acc, name, scopes, agent))
    typer.echo(secret)


@tokens_app.command("revoke")
def token_revoke(name: str, data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """Revoke an API token at once."""
    from augenmass.api import accounts

    _run(data, store, lambda acc: accounts.revoke_token(acc, name))
    typer.echo(f"revoked {name}")


@tokens_app.command("list")
def token_list(data: DataOpt = DEFAULT_DATA, store: StoreOpt = None) -> None:
    """List token names and scopes (never the tokens)."""
    from augenmass.api import accounts

    for tok in _run(data, store, accounts.list_tokens):
        typer.echo(f"{tok.name}\t{','.join(sorted(tok.scopes))}")
