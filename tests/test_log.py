"""Logs: one line per record, hostile text escaped, no secrets."""

from __future__ import annotations

import logging

from augenmass.core.logfmt import LogfmtFormatter
from augenmass.server.server import _safe_url


def _format(msg: str, **extra: object) -> str:
    record = logging.LogRecord("augenmass.test", logging.INFO, __file__, 1, msg, (), None)
    record.__dict__.update(extra)
    return LogfmtFormatter().format(record)


def test_a_hostile_value_cannot_start_a_new_log_line_or_reach_the_terminal() -> None:
    line = _format("state", output="ok\nts=forged level=error msg=pwned\x1b[2J")
    assert "\n" not in line and "\x1b" not in line
    assert 'output="ok\\x0ats=forged level=error msg=pwned\\x1b[2J"' in line


def test_fields_are_key_value_pairs_and_quoted_when_needed() -> None:
    line = _format("check done", check="www1/website", attempt=3)
    assert line.split(" ")[1:] == [
        "level=info",
        "logger=augenmass.test",
        'msg="check',
        'done"',
        "check=www1/website",
        "attempt=3",
    ]


def test_database_passwords_never_reach_a_log_line() -> None:
    assert _safe_url("postgresql://mon:s3cret@db.example.org/mon") == (
        "postgresql://mon:***@db.example.org/mon"
    )
    assert "s3cret" not in _safe_url("postgresql+asyncpg://u:s3cret@h:5432/d")
    assert _safe_url("sqlite:///var/augenmass.db") == "sqlite:///var/augenmass.db"
