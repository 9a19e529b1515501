"""Structured logging: one logfmt line per record, control characters escaped.

Check output and config values can be hostile; escaping here means no log line can fake another
line or rewrite an operator's terminal. Every value also passes the one redaction of configured
secrets (core/secrets.py), installed when a config is loaded: a secret quoted by any message,
extra or traceback is written as ****.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

from augenmass.core.secrets import REDACT

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _escape(value: object) -> str:
    text = REDACT(str(value))
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    escaped = "".join(out)
    if not escaped or any(c in escaped for c in ' ="'):
        return f'"{escaped}"'
    return escaped


# syslog priorities: journald reads a leading "<N>" as the line's priority (SyslogLevelPrefix=)
_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def priority(levelno: int) -> int:
    """The syslog priority of a level (custom levels take the next standard one below)."""
    for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= level:
            return _PRIORITY[level]
    return _PRIORITY[logging.DEBUG]


def stderr_is_journal(stream: TextIO | None = None) -> bool:
    """systemd sets $JOURNAL_STREAM to "dev:inode" of the stream it connects; stderr redirected
    elsewhere (a file, a pipe) no longer matches it."""
    raw = os.environ.get("JOURNAL_STREAM", "")
    dev, sep, inode = raw.partition(":")
    if not sep or not dev.isdigit() or not inode.isdigit():
        return False
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(inode))


class LogfmtFormatter(logging.Formatter):
    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        # journald stamps each line itself and takes the priority from a "<N>" prefix
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        if self.journal:
            parts = [f"<{priority(record.levelno)}>level={record.levelname.lower()}"]
        else:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            parts = [f"ts={ts}.{int(record.msecs):03d}Z", f"level={record.levelname.lower()}"]
        parts += [
            f"logger={record.name}",
            f"msg={_escape(record.getMessage())}",
        ]
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                parts.append(f"{key}={_escape(value)}")
        if record.exc_info:
            parts.append(f"exc={_escape(self.formatException(record.exc_info))}")
        return " ".join(parts)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter(journal=stderr_is_journal()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party access logs carry client addresses; we never want them.
    for noisy in ("aiohttp.access", "uvicorn.access"):
        logging.getLogger(noisy).disabled = True
    # Alembic's plugin set-up and its dialect lines say nothing to an admin (a first start
    # printed eleven of them); "Running upgrade A -> B" stays.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicChatter) for f in migration.filters):
        migration.addFilter(_AlembicChatter())


class _AlembicChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))
