"""The `augenmass` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from augenmass import __version__
from augenmass.cli.agent import agent
from augenmass.cli.data import data_app
from augenmass.cli.defaults import DEFAULT_CONFIG, DEFAULT_DATA, DEFAULT_LISTEN, ConfigOpt, DataOpt
from augenmass.cli.notify import notify_app
from augenmass.cli.reference import config_reference
from augenmass.cli.submit import submit
from augenmass.cli.users import tokens_app, users_app
from augenmass.cli.worker import worker

if TYPE_CHECKING:
    from augenmass.core.clock import Clock
    from augenmass.core.plan import Plan

app = typer.Typer(no_args_is_help=True, help=__doc__)


EXIT_CONFIG = 2


def _clock(ctx: typer.Context) -> Clock:
    """The time the commands go by: the system clock, unless the app was invoked with another
    as its context object (`app(obj=clock)`, as a test does)."""
    from augenmass.core.clock import SystemClock

    return cast("Clock", ctx.obj) if ctx.obj is not None else SystemClock()


def _load(config: Path) -> Plan:
    """The plan, or every config error printed and exit 2."""
    from augenmass.config import load_config
    from augenmass.core.errors import ConfigError

    try:
        return load_config(config)
    except ConfigError as exc:
        _config_errors(exc)
        raise  # not reached: _config_errors exits


def _config_errors(exc: Exception) -> None:
    from augenmass.core.errors import ConfigError

    assert isinstance(exc, ConfigError)
    for problem in exc.problems:
        typer.echo(str(problem), err=True)
    n = len(exc.problems)
    typer.echo(f"{n} error{'s' if n != 1 else ''}: configuration refused", err=True)
    raise typer.Exit(EXIT_CONFIG)


@app.command()
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = DEFAULT_DATA,
    listen: Annotated[str, typer.Option(help="HOST:PORT for the HTTP API")] = DEFAULT_LISTEN,
    store: Annotated[
        str | None, typer.Option(help="database URL (default: SQLite in --data)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty", help="run (and reload) a config without hosts; refused otherwise"
        ),
    ] = False,
    node: Annotated[
        str | None,
        typer.Option(
            help="this server's name among active/standby servers sharing a PostgreSQL store"
            " (default: host name and data directory)"
        ),
    ] = None,
) -> None:
    """Run the monitoring server."""
    from augenmass.core.datalock import DataDirBusy, hold
    from augenmass.core.errors import ConfigError, DataPathError, StoreError
    from augenmass.core.logfmt import setup_logging
    from augenmass.core.private import make_private
    from augenmass.server.server import Server

    os.umask(0o077)  # the data directory holds password hashes and sessions
    Server.hold_reload_signal()  # before the lock names this process to `augenmass reload`
    try:
        lock = hold(data)  # one server per data directory, held until the process ends
    except (DataDirBusy, DataPathError) as exc:
        typer.echo(f"augenmass: {exc}; not starting", err=True)
        raise typer.Exit(1) from None
    setup_logging(log_level)
    make_private(data)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency, but never required
        pass
    server = Server(config, data, listen, store_url=store, allow_empty=allow_empty, node=node)
    try:
        asyncio.run(server.serve_forever())
    except ConfigError as exc:
        _config_errors(exc)
    except StoreError as exc:  # e.g. a database written by a newer augenmass: said, not a trace
        typer.echo(f"augenmass: {exc}; not starting", err=True)
        raise typer.Exit(1) from None
    finally:
        os.close(lock)
    if server.failed:
        raise typer.Exit(1)


@app.command()
def init(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="directory to write augenmass.yaml into")
    ] = Path("var/first-run"),
    listen: Annotated[str, typer.Option(help="HOST:PORT the server will listen on")] = (
        DEFAULT_LISTEN
    ),
    force: Annotated[bool, typer.Option(help="overwrite an existing augenmass.yaml")] = False,
) -> None:
    """Write a first configuration that watches this machine: disks, load, memory, the mail
    queue when an MTA is installed, local services that answer (SSH, SMTP, HTTP ...), the web UI.
    """
    from augenmass.cli import firstrun

    target = output / "augenmass.yaml"
    if target.exists() and not force:
        typer.echo(f"{target} exists; kept (--force writes a new one)")
        return
    found = firstrun.look_around()
    written = firstrun.write(output, firstrun.render(found, listen))
    extra = [firstrun.KNOWN_PORTS[p][0] for p in found.ports]
    if found.mta:
        extra.insert(0, f"mail queue ({found.mta})")
    typer.echo(
        f"wrote {written}: disk, load, memory, the web UI"
        + (f", {', '.join(extra)}" if extra else "")
        + "; no contacts yet (nothing is sent until you add them; see examples/config)"
    )


@app.command("check-config")
def check_config(
    path: Annotated[Path, typer.Argument()] = DEFAULT_CONFIG,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="accept a config without hosts")
    ] = False,
) -> None:
    """Validate a configuration: every error with file, line and key path; exit 2 on any."""
    from augenmass.config import load_config, require_hosts, summarize
    from augenmass.core.errors import ConfigError

    try:
        plan = load_config(path)
        if not allow_empty:  # what `augenmass run` would refuse
            require_hosts(plan, path)
    except ConfigError as exc:
        _config_errors(exc)
    typer.echo(f"OK: {summarize(plan)}")


@app.command()
def simulate(
    timeline: Annotated[
        Path, typer.Argument(help="JSONL file of results and actions ('-' = stdin)")
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Feed a timeline through the real engine; print one JSON object per event."""
    from augenmass.cli.simulate import SimulationError, run_simulation

    plan = _load(config)
    stream = sys.stdin if str(timeline) == "-" else timeline.open(encoding="utf-8")
    try:
        for event in run_simulation(plan, stream):
            typer.echo(json.dumps(event, ensure_ascii=False))
    except SimulationError as exc:
        typer.echo(f"{timeline}: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    finally:
        if stream is not sys.stdin:
            stream.close()


@app.command()
def status(
    ctx: typer.Context,
    data: DataOpt = DEFAULT_DATA,
    store: Annotated[str | None, typer.Option(help="database URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="show every check, not only problems")
    ] = False,
) -> None:
    """Show current problems (unhandled first) as a table."""
    from augenmass.cli.status import (
        cluster_line,
        load_rows,
        notify_summary,
        render_table,
        worker_lines,
    )
    from augenmass.server.server import db_url

    if store is None and not (data / "augenmass.db").exists():
        # reading would make an empty database there: a typo in --data looked like "No problems"
        typer.echo(
            f"error: no augenmass database in {data}: no server has run there"
            " (--data names the server's data directory; --store its database URL)",
            err=True,
        )
        raise typer.Exit(2)
    url = store or db_url(data)
    rows = asyncio.run(load_rows(url, problems_only=not all_))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        render_table(rows, now=_clock(ctx).now(), problems_only=not all_)
        line = asyncio.run(notify_summary(url))
        if line:
            typer.echo(line)
        for line in worker_lines(data, _clock(ctx).now()):
            typer.echo(line)
        active = asyncio.run(cluster_line(url)) if store else None
        if active:
            typer.echo(active)
        if store is None and _running(data) is False:
            typer.echo(f"no server is running on {data}: these are the states of its last run")


@app.command()
def check(
    ctx: typer.Context,
    host: str,
    service: Annotated[str | None, typer.Argument()] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Run one check now and print its result (changes nothing); exits with its status."""
    from augenmass.cli.checknow import run_once

    plan = _load(config)
    code, text = asyncio.run(run_once(plan, host, service, _clock(ctx)))
    typer.echo(text)
    raise typer.Exit(code)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def probe(ctx: typer.Context, kind: Annotated[str, typer.Argument(metavar="TYPE")]) -> None:
    """Run a built-in probe once, plugin-style (exit 0..3); `augenmass probe TYPE --help`."""
    from augenmass.cli.probe import run_probe_cli

    raise typer.Exit(run_probe_cli(kind, list(ctx.args), clock=_clock(ctx)))


@app.command()
def reload(data: DataOpt = DEFAULT_DATA) -> None:
    """Ask the running server to re-read its config (same as SIGHUP)."""
    from augenmass.core.datalock import NoServer, signal_server

    try:
        # Only the process that holds the data directory's lock, confirmed to be the augenmass
        # server that took it: a pid alone may have been given to anything since.
        pid = signal_server(data, signal.SIGHUP)
    except NoServer as exc:
        typer.echo(f"augenmass: {exc}; nothing was signalled", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"reload requested (pid {pid}); see the server log for the outcome")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"augenmass {__version__}")


def _running(data: Path) -> bool | None:
    """Does a server run on `data`? By its lock, never by a pid; None when that cannot be told
    (the lock file is not readable for this user)."""
    from augenmass.core.datalock import held

    try:
        return held(data)
    except OSError:
        return None


def _duration(value: str, option: str) -> float:
    """A duration option's seconds; a typo is a usage error (exit 2), never a traceback."""
    from augenmass.core.duration import DurationError, parse_duration

    try:
        return parse_duration(value)
    except DurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


# How long the CLI waits for a running server to apply (or refuse) its command. The server
# looks at the spool every second; a loaded one may take a few.
COMMAND_WAIT = 10.0


def _spool(data: Path, command: dict[str, Any]) -> None:
    from augenmass.server.spool import outcome, submit

    path = submit(data, command)
    running = _running(data)
    if running is not False:
        # Wait for the verdict so that a refusal (an unknown host, a typo) is an error here,
        # at once, and not only a line in the server's log.
        deadline = time.monotonic() + (COMMAND_WAIT if running else 1.5)
        while time.monotonic() < deadline:
            done, refusal = outcome(path)
            if refusal is not None:
                typer.echo(f"refused {command['action']}: {refusal}", err=True)
                raise typer.Exit(2)
            if done:
                typer.echo(f"applied {command['action']}")
                return
            time.sleep(0.05)
    where = {
        True: "the running server has not applied it yet; it will",
        False: "no server is running; it is applied when the server starts",
        None: "the server applies it within a second if it runs, else when it starts",
    }[running]
    typer.echo(f"queued {command['action']} ({path.name}): {where}")


@app.command()
def acknowledge(
    ctx: typer.Context,
    host: str,
    service: Annotated[str | None, typer.Argument()] = None,
    comment: Annotated[str, typer.Option("--comment", "-m")] = "",
    author: Annotated[str, typer.Option()] = os.environ.get("USER", "cli"),
    sticky: Annotated[bool, typer.Option(help="keep it through problem→problem changes")] = False,
    notify: Annotated[bool, typer.Option(help="send an ACKNOWLEDGEMENT notification")] = False,
    expires: Annotated[str | None, typer.Option(help="duration until it expires, e.g. 4h")] = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Acknowledge a problem (stops reminders until it changes or recovers)."""
    cmd: dict[str, Any] = {
        "action": "acknowledge",
        "host": host,
        "service": service,
        "comment": comment,
        "author": author,
        "sticky": sticky,
        "notify": notify,
    }
    if expires:
        cmd["expires"] = _clock(ctx).now() + _duration(expires, "--expires")
    _spool(data, cmd)


@app.command("remove-acknowledgement")
def remove_acknowledgement(
    host: str, service: Annotated[str | None, typer.Argument()] = None, data: DataOpt = DEFAULT_DATA
) -> None:
    """Remove an acknowledgement."""
    _spool(data, {"action": "remove_acknowledgement", "host": host, "service": service})


@app.command()
def downtime(
    ctx: typer.Context,
    host: str,
    service: Annotated[str | None, typer.Argument()] = None,
    duration: Annotated[str, typer.Option(help="length, e.g. 2h")] = "1h",
    start_in: Annotated[str, typer.Option(help="start after this long, e.g. 30m")] = "0s",
    flexible: Annotated[
        bool, typer.Option(help="start only when a problem occurs in the window")
    ] = False,
    window: Annotated[
        str | None, typer.Option(help="flexible: window length (default = duration)")
    ] = None,
    all_services: Annotated[bool, typer.Option(help="host downtime covers each service")] = False,
    comment: Annotated[str, typer.Option("--comment", "-m")] = "",
    author: Annotated[str, typer.Option()] = os.environ.get("USER", "cli"),
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Schedule a downtime (fixed by default)."""
    import uuid

    start = _clock(ctx).now() + _duration(start_in, "--start-in")
    length = _duration(duration, "--duration")
    end = start + (_duration(window, "--window") if (flexible and window) else length)
    dt_id = uuid.uuid4().hex
    _spool(
        data,
        {
            "action": "downtime",
            "id": dt_id,
            "host": host,
            "service": service,
            "start": start,
            "end": end,
            "fixed": not flexible,
            "duration": length,
            "all_services": all_services,
            "comment": comment,
            "author": author,
        },
    )
    typer.echo(f"downtime id {dt_id}")


@app.command("remove-downtime")
def remove_downtime(downtime_id: str, data: DataOpt = DEFAULT_DATA) -> None:
    """Cancel a downtime by id."""
    _spool(data, {"action": "remove_downtime", "id": downtime_id})


@app.command()
def recheck(
    host: str, service: Annotated[str | None, typer.Argument()] = None, data: DataOpt = DEFAULT_DATA
) -> None:
    """Ask the running server to run a check now."""
    _spool(data, {"action": "check_now", "host": host, "service": service})


@app.command()
def command(
    lines: Annotated[list[str], typer.Argument(help="[EPOCH] COMMAND;ARGS ...")],
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Queue Nagios external command lines (PROCESS_SERVICE_CHECK_RESULT,
    PROCESS_HOST_CHECK_RESULT) in the command spool, as a Nagios command file would."""
    from augenmass.server.nagioscmd import CommandLineError, parse_line
    from augenmass.server.spool import submit_lines

    for line in lines:
        try:
            parse_line(line)
        except CommandLineError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    path = submit_lines(data, lines)
    where = {
        True: "the running server applies it within a second",
        False: "no server is running; it is applied when the server starts",
        None: "the server applies it within a second if it runs, else when it starts",
    }[_running(data)]
    typer.echo(f"queued {len(lines)} command line(s) ({path.name}): {where}")


@app.command("ping-key")
def ping_key() -> None:
    """Print a new random ping key (256 bits) for a dead-man check's `ping_key`."""
    from augenmass.config.pingkey import new_key

    typer.echo(new_key())


app.command()(submit)
app.command("config-reference")(config_reference)
app.command("agent")(agent)
app.command("worker")(worker)
app.add_typer(notify_app, name="notify")
app.add_typer(users_app, name="user")
app.add_typer(tokens_app, name="token")
app.add_typer(data_app)  # backup, restore, db status|upgrade (no name: top-level commands)


def main() -> Any:
    from augenmass.core.errors import DataPathError

    try:
        return app()
    except DataPathError as exc:
        # Any command: a data directory or database file of the wrong kind, or one this user
        # may not read or write, is one line naming it, not a traceback.
        typer.echo(f"augenmass: {exc}", err=True)
        raise SystemExit(1) from None
    except OSError as exc:
        if not exc.filename:
            raise
        # A file named on the command line that cannot be read or written (a typo, a missing
        # directory): the file and the reason, exit 2 like any other usage error.
        typer.echo(f"augenmass: {exc.filename}: {exc.strerror or exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
