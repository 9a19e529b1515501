"""`augenmass notify test CONTACT` and `augenmass notify log`.

`test` sends from this process with the configured channels (no running server needed) and
records the result in the notification log; `log` shows the newest log lines (names, never
addresses).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from augenmass.cli.defaults import DEFAULT_CONFIG, DEFAULT_DATA

notify_app = typer.Typer(no_args_is_help=True, help="Notifications: send a test, show the log.")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML file or directory")]
DataOpt = Annotated[Path, typer.Option("--data", "-d", help="data directory (SQLite store)")]
StoreOpt = Annotated[str | None, typer.Option(help="database URL")]


def _url(data: Path, store: str | None) -> str:
    from augenmass.server.server import db_url

    return store or db_url(data)


@notify_app.command("test")
def test(
    contact: Annotated[str, typer.Argument(help="contact name")],
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
) -> None:
    """Send a test message to CONTACT on each of its channels now."""
    from augenmass.config import load_config
    from augenmass.core.clock import SystemClock
    from augenmass.core.errors import ConfigError
    from augenmass.notify import NotificationService
    from augenmass.store import open_store

    try:
        plan = load_config(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None
    if contact not in plan.contacts:
        typer.echo(f"unknown contact {contact!r}", err=True)
        raise typer.Exit(2)

    async def main() -> str:
        data.mkdir(parents=True, exist_ok=True)
        st = await open_store(_url(data, store))
        try:
            return await NotificationService(plan, st, SystemClock()).send_test(contact)
        finally:
            await st.close()

    text = asyncio.run(main())
    typer.echo(text)
    if "failed" in text or "no channel" in text:
        raise typer.Exit(1)


@notify_app.command("log")
def show_log(
    data: DataOpt = DEFAULT_DATA,
    store: StoreOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest notification log lines: when, who, which channel, result."""
    from augenmass.store import open_store
    from augenmass.store.reads import delivery_log

    async def main() -> list[dict[str, object]]:
        st = await open_store(_url(data, store))
        try:
            return await delivery_log(st, limit)
        finally:
            await st.close()

    rows = asyncio.run(main())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in reversed(rows):
        when = datetime.fromtimestamp(float(str(r["at"])), UTC).strftime("%Y-%m-%d %H:%M:%S")
        detail = f" ({r['detail']})" if r["detail"] else ""
        who = f"{r['result']:6} {r['contact']} via {r['channel']}"
        typer.echo(f"{when}Z {who}: {r['type']} {r['checks']}{detail}")
