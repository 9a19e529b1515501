"""Sanitizing and Nagios-4 splitting of plugin output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner_helpers import job

from augenmass.core.pluginoutput import ParsedOutput, sanitize, split_output
from augenmass.runner import Runner


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (b"plain", "plain"),
        (b"nul\x00byte", "nulbyte"),
        (b"\xff\xfe bad", "\ufffd\ufffd bad"),
        (b"\x1b[1;31mred\x1b[0m", "red"),
        (b"\x1b]0;title\x07after", "after"),
        (b"\x1b]8;;http://x\x1b\\link", "link"),
        (b"cr\r\nlf\rlone", "cr\nlf\nlone"),
        (b"tab\tkept", "tab\tkept"),
        (b"bell\x07 bs\x08 del\x7f", "bell bs del"),
        ("c1 \x9b31m csi".encode(), "c1 31m csi"),
        ("bidi \u202egnp.exe".encode(), "bidi gnp.exe"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # the UI escapes HTML
        ("umlaut äöü ✓", "umlaut äöü ✓"),
    ],
)
def test_sanitize(raw: str | bytes, clean: str) -> None:
    assert sanitize(raw) == clean


@given(st.binary(max_size=300))
def test_sanitize_leaves_no_control_characters(raw: bytes) -> None:
    text = sanitize(raw)
    assert all(c in "\n\t" or (32 <= ord(c) != 127 and not 0x80 <= ord(c) <= 0x9F) for c in text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OK - fine", ParsedOutput("OK - fine", "", "")),
        ("  OK - padded  \n", ParsedOutput("OK - padded", "", "")),
        ("OK | a=1", ParsedOutput("OK", "", "a=1")),
        ("OK|a=1 b=2", ParsedOutput("OK", "", "a=1 b=2")),
        ("OK\nline 2\nline 3", ParsedOutput("OK", "line 2\nline 3", "")),
        (
            "OK | a=1\nline 2\nline 3 | b=2\nc=3\nd=4",
            ParsedOutput("OK", "line 2\nline 3", "a=1 b=2 c=3 d=4"),
        ),
        ("OK\nlong|x=1\nlater | text", ParsedOutput("OK", "long", "x=1 later | text")),
        ("", ParsedOutput("(No output returned from plugin)", "", "")),
        ("| a=1", ParsedOutput("(No output returned from plugin)", "", "a=1")),
        ("\n\nOK after blank lines", ParsedOutput("OK after blank lines", "", "")),
    ],
)
def test_split_output(text: str, expected: ParsedOutput) -> None:
    assert split_output(text) == expected


@given(st.text(max_size=300))
def test_split_output_never_fails_and_output_is_one_line(text: str) -> None:
    parsed = split_output(text)
    assert parsed.output and "\n" not in parsed.output


async def test_multiline_plugin_output(runner: Runner) -> None:
    result = await runner.run(job(["multiline.sh"]))
    assert result.output == "DISK OK - all fine"
    assert result.long_output == "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);"
    assert [(p.label, p.value, p.uom) for p in result.perfdata] == [
        ("/", 2643.0, "MB"),
        ("/boot", 68.0, "MB"),
        ("/home", 69357.0, "MB"),
    ]
