"""Plugin output: make untrusted bytes safe to store and show, then split it Nagios-4 style.

Split rules (docs/semantics.md §1): line 1 before '|' is the output; lines 2..n are long output; the
first later line holding a '|' ends the long output and starts the perfdata, which then runs to
the end. Perfdata pieces are joined with single spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_OUTPUT = "(No output returned from plugin)"
NO_OUTPUT_HOST = "(No output returned from host check)"

# ESC-based sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-byte escapes.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
)
# C0 controls except \t and \n, DEL, C1 controls (U+009B is an 8-bit CSI), and the bidi overrides
# that can make a line display differently from what it says.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str | bytes) -> str:
    """Decode (UTF-8, invalid bytes replaced) and drop NUL, terminal escapes and control
    characters other than newline and tab. CR LF and lone CR become newlines."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return _CONTROL.sub("", text)


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    output: str
    long_output: str
    perfdata: str


def split_output(text: str, empty: str = NO_OUTPUT) -> ParsedOutput:
    """Split sanitized plugin output into short output, long output and the perfdata text."""
    first, *rest = text.strip("\n").split("\n")
    output, bar, perf = first.partition("|")
    perf_parts = [perf] if bar else []
    long_lines: list[str] = []
    for index, line in enumerate(rest):
        if "|" in line:
            before, _, after = line.partition("|")
            long_lines.append(before)
            perf_parts.append(after)
            perf_parts.extend(rest[index + 1 :])
            break
        long_lines.append(line)
    perfdata = " ".join(p.strip() for p in perf_parts if p.strip())
    return ParsedOutput(
        output=output.strip() or empty,
        long_output="\n".join(long_lines).strip("\n").rstrip(),
        perfdata=perfdata,
    )
