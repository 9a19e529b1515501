"""`augenmass submit HOST [SERVICE] --state CRITICAL --output "…"`: a passive result from a
script, over the JSON API of a running server (AUGENMASS_URL, AUGENMASS_TOKEN or --token-file).

Exit codes say what happened: 0 applied; 1 refused or not applied (the server's reason on
stderr); 2 usage (bad arguments, no URL or token); 3 the server could not be reached or failed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import urllib.error

APPLIED, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3
STATES = {"ok": 0, "up": 0, "warning": 1, "critical": 2, "down": 2, "unknown": 3}
TIMEOUT = 30.0


def _fail(code: int, message: str) -> typer.Exit:
    typer.echo(f"augenmass submit: {message}", err=True)
    return typer.Exit(code)


def _state(text: str) -> int:
    value = text.strip().lower()
    if value in STATES:
        return STATES[value]
    if value in ("0", "1", "2", "3"):
        return int(value)
    raise _fail(
        USAGE, f"--state must be OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN or 0-3, not {text!r}"
    )


def _token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _fail(USAGE, f"cannot read the token file {token_file}: {exc.strerror}") from None
    token = os.environ.get("AUGENMASS_TOKEN", "").strip()
    if not token:
        raise _fail(USAGE, "no token: set AUGENMASS_TOKEN or give --token-file")
    return token


def submit(
    host: str,
    service: Annotated[str | None, typer.Argument(help="none: a host result")] = None,
    state: Annotated[
        str, typer.Option(help="OK, WARNING, CRITICAL, UNKNOWN (UP, DOWN) or 0-3")
    ] = "",
    output: Annotated[str, typer.Option("--output", "-o", help="the plugin output")] = "",
    perfdata: Annotated[
        list[str] | None, typer.Option(help="performance data, e.g. 'time=3s;5;10' (repeatable)")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="the server, e.g. https://monitor.example.org", envvar="AUGENMASS_URL"),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="read the token from this file (else AUGENMASS_TOKEN)")
    ] = None,
) -> None:
    """Send a passive check result to the running server (a token with the `submit` scope)."""
    if not state:
        raise _fail(USAGE, "--state is required")
    status = _state(state)
    if not url:
        raise _fail(USAGE, "no server URL: set AUGENMASS_URL or give --url")
    body: dict[str, Any] = {
        "host": host,
        "service": service,
        "exit_status": status,
        "plugin_output": output,
    }
    if perfdata:
        body["performance_data"] = perfdata
    # Imported here: urllib.request brings the email package, which a running server, started
    # by this same program, would otherwise hold for nothing.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url.rstrip("/") + "/api/actions/process-check-result",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {_token(token_file)}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        reason = _detail(exc)
        code = UNREACHABLE if exc.code >= 500 else REFUSED
        raise _fail(
            code,
            f"refused ({exc.code}): {reason}"
            if code == REFUSED
            else f"server error ({exc.code}): {reason}",
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _fail(UNREACHABLE, f"cannot reach {url}: {why}") from None
    if not answer.get("applied", False):
        raise _fail(REFUSED, f"not applied: {answer.get('reason', 'no reason given')}")
    name = f"{host}/{service}" if service else host
    typer.echo(f"applied to {name}")


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError, OSError):
        detail = None
    return str(detail) if detail else str(exc.reason)
