"""Structured logging: one logfmt line per record, control characters escaped.

Check output and config values can be hostile; escaping here means no log line can fake another
line or rewrite an operator's terminal.
"""

from __future__ import annotations

import logging
import sys
import time

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def _escape(value: object) -> str:
    text = str(value)
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


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [
            f"ts={ts}.{int(record.msecs):03d}Z",
            f"level={record.levelname.lower()}",
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
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party access logs carry client addresses; we never want them.
    for noisy in ("aiohttp.access", "uvicorn.access"):
        logging.getLogger(noisy).disabled = True
