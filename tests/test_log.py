"""Logs: one line per record, hostile text escaped, no secrets."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from augenmass.core.logfmt import LogfmtFormatter, stderr_is_journal
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


def test_journal_lines_carry_the_syslog_priority_and_no_timestamp_of_their_own() -> None:
    levels = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }
    for level, prio in levels.items():
        record = logging.LogRecord("augenmass.test", level, __file__, 1, "x y", (), None)
        record.__dict__["check"] = "www1/website"
        line = LogfmtFormatter(journal=True).format(record)
        name = logging.getLevelName(level).lower()
        assert line == f'<{prio}>level={name} logger=augenmass.test msg="x y" check=www1/website'
    plain = _format("check done")
    assert plain.startswith("ts=") and not plain.startswith("<")


def test_stderr_is_the_journal_only_when_journal_stream_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open(tmp_path / "journal", "w") as journal, open(tmp_path / "file", "w") as other:
        st = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert stderr_is_journal(journal)
        # stderr redirected elsewhere by the service's own script: plain lines again
        assert not stderr_is_journal(other)
        monkeypatch.setenv("JOURNAL_STREAM", "garbage")
        assert not stderr_is_journal(journal)
        monkeypatch.delenv("JOURNAL_STREAM")
        assert not stderr_is_journal(journal)
