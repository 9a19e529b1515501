"""`augenmass agent`: run the checks the server assigns to this agent (docs/agent.md)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_AGENT_DATA = Path("/var/lib/augenmass-agent")


def agent(
    server: Annotated[
        str, typer.Option(help="the server's address, e.g. https://monitor.example.org")
    ],
    token_file: Annotated[
        Path,
        typer.Option(help="file holding this agent's API token (`augenmass token create --agent`)"),
    ],
    name: Annotated[
        str | None, typer.Option(help="the agent's name; refused when the token is another's")
    ] = None,
    data: Annotated[
        Path, typer.Option(help="directory of the result buffer and the cached checks")
    ] = DEFAULT_AGENT_DATA,
    alert_config: Annotated[
        Path | None,
        typer.Option(
            help="YAML file of the agent's own alert channel (smtp/email, apprise): alert when "
            "the server does not answer (docs/agent.md, Watching the watcher)",
            envvar="AUGENMASS_AGENT_ALERTS",
        ),
    ] = None,
    server_silence: Annotated[
        str | None,
        typer.Option(
            help="how long the server may not answer before the alert, e.g. 5m "
            "(default: the alert file's server_silence, else 5m)",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Run checks where the server cannot reach (an office behind NAT) and send the results."""
    from augenmass.agent.agent import Agent, AgentOptions
    from augenmass.core.datalock import DataDirBusy, hold
    from augenmass.core.errors import DataPathError
    from augenmass.core.logfmt import setup_logging

    os.umask(0o077)  # the buffer names internal hosts and their problems
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        typer.echo(f"augenmass agent: cannot read the token file: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    if not token:
        typer.echo(f"augenmass agent: the token file {token_file} is empty", err=True)
        raise typer.Exit(1)
    if not server.startswith(("https://", "http://")):
        typer.echo("augenmass agent: --server must be an http(s):// address", err=True)
        raise typer.Exit(1)
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        lock = hold(data)  # one agent per buffer
    except (DataDirBusy, DataPathError) as exc:
        typer.echo(f"augenmass agent: {exc}; not starting", err=True)
        raise typer.Exit(1) from None
    setup_logging(log_level)
    alerts = None
    if alert_config is not None:
        from augenmass.agent.alerts import AlertFileError, load_alerts
        from augenmass.core.duration import DurationError, parse_duration

        try:
            silence = None if server_silence is None else parse_duration(server_silence)
            if silence is not None and silence <= 0:
                raise DurationError("--server-silence must be longer than 0s")
            alerts = load_alerts(alert_config, silence)
        except (AlertFileError, DurationError) as exc:
            typer.echo(f"augenmass agent: {exc}; not starting", err=True)
            os.close(lock)
            raise typer.Exit(1) from None
    elif server_silence is not None:
        typer.echo("augenmass agent: --server-silence needs --alert-config (who to tell)", err=True)
        os.close(lock)
        raise typer.Exit(1)
    runner = Agent(
        AgentOptions(server=server, token=token, data_dir=data, name=name, alerts=alerts)
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runner.stop)
        await runner.run()

    try:
        asyncio.run(main())
    finally:
        os.close(lock)
    if runner.failed:
        typer.echo(f"augenmass agent: {runner.failed}", err=True)
        raise typer.Exit(1)
