"""Operator commands through a spool directory, like Nagios's external command file.

`augenmass acknowledge|downtime|...` writes one JSON file into DATA/commands/ (tmp + rename, so
the server never reads half a file); the running server applies each file through the engine,
waits until the result is committed, and only then deletes the file. A crash in between
re-applies the command after restart, which is harmless: ids make downtimes idempotent and an
acknowledgement set twice is the same acknowledgement. File permissions are the authorisation,
as with Nagios's command pipe; the JSON API (augenmass.api) has users and tokens instead.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from augenmass.core.datadir import ensure_dir, path_error
from augenmass.core.values import Acknowledgement, CheckKey, Downtime
from augenmass.state import Engine, Outcome

log = logging.getLogger("augenmass.commands")

MAX_COMMAND_BYTES = 64 * 1024
Action = Callable[[Engine, float], Outcome]


class CommandError(ValueError):
    pass


def spool_dir(data_dir: Path) -> Path:
    return data_dir / "commands"


def submit(data_dir: Path, command: Mapping[str, Any]) -> Path:
    """Write a command atomically into the spool; returns the file's path."""
    return _write(data_dir, "json", json.dumps(dict(command)))


def _write(data_dir: Path, suffix: str, text: str) -> Path:
    spool = spool_dir(data_dir)
    ensure_dir(spool, "the command spool")
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.{suffix}"
    tmp = spool / f".{name}.tmp"
    # 0600 whatever the umask: only the server's user may read or plant commands
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise path_error(exc, spool, "the command spool") from None
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    final = spool / name
    os.replace(tmp, final)
    return final


def submit_lines(data_dir: Path, lines: list[str]) -> Path:
    """Write Nagios external command lines as one `*.cmd` file (tmp + rename)."""
    return _write(data_dir, "cmd", "".join(f"{line}\n" for line in lines))


def pending(data_dir: Path) -> list[Path]:
    """JSON commands and Nagios command files, oldest first. A name starting with a dot is
    one still being written (write `.x.cmd`, then `mv` it to `x.cmd`)."""
    spool = spool_dir(data_dir)
    if not spool.is_dir():
        return []
    found = [*spool.glob("*.json"), *spool.glob("*.cmd")]
    return sorted(p for p in found if p.is_file() and not p.name.startswith("."))


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


REFUSED = ".refused"
REFUSAL_KEEP = 3600.0  # a verdict nobody collected (the CLI gave up waiting) goes after an hour


def refuse(path: Path, reason: str) -> None:
    """Drop a command with its reason beside it (`NAME.refused`), for the CLI that waits on it;
    the reason is also in the server's log. Verdicts nobody collected are swept here."""
    spool = path.parent
    now = time.time()
    for old in spool.glob(f"*{REFUSED}"):
        try:
            if now - old.stat().st_mtime > REFUSAL_KEEP:
                old.unlink()
        except OSError:
            pass
    verdict = path.with_name(path.name + REFUSED)
    try:
        verdict.write_text(reason[:1000], encoding="utf-8")
        os.chmod(verdict, 0o600)
    except OSError:
        pass  # the log line still tells
    remove(path)


def outcome(path: Path) -> tuple[bool, str | None]:
    """(applied or refused, the refusal's reason) of a command written by `submit`."""
    verdict = path.with_name(path.name + REFUSED)
    try:
        reason = verdict.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return (not path.exists(), None)
    verdict.unlink(missing_ok=True)
    return (True, reason)


def read_lines(path: Path) -> list[str]:
    """The non-empty lines of a Nagios command file."""
    if path.stat().st_size > MAX_COMMAND_BYTES:
        raise CommandError(f"command file larger than {MAX_COMMAND_BYTES} bytes")
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def _key(cmd: Mapping[str, Any]) -> CheckKey:
    host = cmd.get("host")
    service = cmd.get("service")
    if not isinstance(host, str) or not host:
        raise CommandError("'host' is required")
    if service is not None and not isinstance(service, str):
        raise CommandError("'service' must be a string")
    return CheckKey(host, service or None)


def _float(cmd: Mapping[str, Any], name: str, default: float | None = None) -> float | None:
    value = cmd.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(f"'{name}' must be a number (epoch seconds)")
    return float(value)


def parse(cmd: Mapping[str, Any], now: float) -> tuple[str, CheckKey | None, Action]:
    """Turn one command into an engine action; raises CommandError on anything malformed."""
    kind = cmd.get("action")
    author = str(cmd.get("author", ""))[:200]
    comment = str(cmd.get("comment", ""))[:2000]
    if kind == "acknowledge":
        key = _key(cmd)
        ack = Acknowledgement(
            author=author,
            comment=comment,
            at=now,
            sticky=bool(cmd.get("sticky", False)),
            notify=bool(cmd.get("notify", False)),
            persistent=bool(cmd.get("persistent", False)),
            expires_at=_float(cmd, "expires"),
        )
        return kind, key, lambda eng, t: eng.acknowledge(key, ack, t)
    if kind == "remove_acknowledgement":
        key = _key(cmd)
        return kind, key, lambda eng, t: eng.remove_acknowledgement(key, t)
    if kind == "downtime":
        key = _key(cmd)
        start = _float(cmd, "start", now)
        end = _float(cmd, "end")
        duration = _float(cmd, "duration", 0.0) or 0.0
        fixed = bool(cmd.get("fixed", True))
        assert start is not None
        if end is None:
            if duration <= 0:
                raise CommandError("a downtime needs 'end' or a positive 'duration'")
            end = start + duration
        if end <= start:
            raise CommandError("a downtime must end after it starts")
        if not fixed and duration <= 0:
            raise CommandError("a flexible downtime needs a positive 'duration'")
        dt = Downtime(
            id=str(cmd.get("id") or uuid.uuid4().hex),
            key=key,
            start=start,
            end=end,
            fixed=fixed,
            duration=duration if not fixed else end - start,
            author=author,
            comment=comment,
            all_services=bool(cmd.get("all_services", False)),
        )
        return kind, key, lambda eng, t: eng.schedule_downtime(dt, t)
    if kind == "remove_downtime":
        dt_id = cmd.get("id")
        if not isinstance(dt_id, str) or not dt_id:
            raise CommandError("'id' is required")
        return kind, None, lambda eng, t: eng.remove_downtime(dt_id, t)
    if kind == "check_now":
        return kind, _key(cmd), lambda eng, t: Outcome({}, [], [], [])
    raise CommandError(f"unknown action {kind!r}")


def read(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_COMMAND_BYTES:
        raise CommandError(f"command file larger than {MAX_COMMAND_BYTES} bytes")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CommandError("a command must be a JSON object")
    return data
