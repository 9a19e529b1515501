"""`augenmass worker`: run the checks of one zone for a server, over NATS JetStream
(docs/workers.md). No config file: the jobs carry what their checks need."""

from __future__ import annotations

import asyncio
import re
import signal
from typing import Annotated
from urllib.parse import urlsplit

import typer

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def worker(
    nats: Annotated[
        str,
        typer.Option(
            help="NATS server with JetStream, e.g. nats://worker-dc1:PASSWORD@10.0.0.5:4222"
            " (the password is never logged)",
            envvar="AUGENMASS_NATS",
        ),
    ],
    zone: Annotated[
        str, typer.Option(help="the zone whose checks to run (as in cluster.zones)")
    ] = "default",
    prefix: Annotated[str, typer.Option(help="cluster.nats.prefix of the server")] = "augenmass",
    concurrency: Annotated[
        int, typer.Option(min=1, max=4096, help="checks this worker runs at once")
    ] = 64,
    name: Annotated[
        str | None, typer.Option(help="the worker's name in status (default: host-pid)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Take check jobs of a zone from NATS JetStream, run them, send back the results."""
    from augenmass.cluster.worker import Worker, WorkerOptions
    from augenmass.core.logfmt import setup_logging

    parts = urlsplit(nats)
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        typer.echo("augenmass worker: --nats must be nats://HOST:PORT or tls://HOST:PORT", err=True)
        raise typer.Exit(2)
    for option, value in (("--zone", zone), ("--prefix", prefix)):
        if not _TOKEN.fullmatch(value):
            typer.echo(
                f"augenmass worker: {option} takes 1 to 64 letters, digits, '-' or '_'", err=True
            )
            raise typer.Exit(2)
    setup_logging(log_level)
    options = WorkerOptions(url=nats, zone=zone, prefix=prefix, concurrency=concurrency)
    if name:
        options.name = name
    runner = Worker(options)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, runner.stop)
        await runner.run()

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency
        pass
    asyncio.run(main())
    if runner.failed:
        typer.echo(f"augenmass worker: {runner.failed}", err=True)
        raise typer.Exit(1)
