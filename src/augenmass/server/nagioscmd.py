"""Nagios external command lines, as admins' scripts write them into a command file:

    [1700000000] PROCESS_SERVICE_CHECK_RESULT;web1;disk;2;DISK CRITICAL - 95% used|used=95%
    [1700000000] PROCESS_HOST_CHECK_RESULT;web1;1;host unreachable

Dropped as a `*.cmd` file into the command spool (DATA/commands/), one or more lines, or sent
with `augenmass command "LINE"`. Only the passive results are taken; every other command is
refused with a log line (augenmass has its own spool commands for acknowledgements and
downtimes, with an audit trail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from augenmass.core.values import CheckKey

_LINE = re.compile(r"\s*\[(\d{1,12})\]\s*([A-Z_]+)(?:;(.*))?\s*", re.DOTALL)
TAKEN = ("PROCESS_SERVICE_CHECK_RESULT", "PROCESS_HOST_CHECK_RESULT")


class CommandLineError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PassiveLine:
    key: CheckKey
    status: int
    output: str  # with "|perfdata" as the plugin wrote it
    at: float  # the [epoch]: when the result was taken


def command_name(line: str) -> str:
    """The command word of a line, for the log ("" when there is none)."""
    found = _LINE.fullmatch(line)
    return found.group(2) if found else ""


def parse_line(line: str) -> PassiveLine:
    found = _LINE.fullmatch(line)
    if found is None:
        raise CommandLineError("not a command line: expected [EPOCH] COMMAND;ARGS")
    epoch, name, args = found.groups()
    if name not in TAKEN:
        raise CommandLineError(f"unknown or unsupported command {name}; taken: {', '.join(TAKEN)}")
    # The output may contain ';': split only as many fields as the command has.
    fields = (args or "").split(";", 3 if name == TAKEN[0] else 2)
    if name == TAKEN[0]:
        if len(fields) != 4:
            raise CommandLineError(f"{name} needs host;service;code;output")
        host, service, code, output = fields
    else:
        if len(fields) != 3:
            raise CommandLineError(f"{name} needs host;code;output")
        host, code, output = fields
        service = None
    if not host or (name == TAKEN[0] and not service):
        raise CommandLineError(f"{name}: empty host or service name")
    if code.strip() not in ("0", "1", "2", "3"):
        raise CommandLineError(f"{name}: return code must be 0, 1, 2 or 3")
    return PassiveLine(CheckKey(host, service), int(code), output, float(epoch))
