"""SNMP strings are attacker data: decode them, repair known mangling, drop control characters."""

from __future__ import annotations

import re

_HEX_LINE = re.compile(r"^(?:[0-9A-Fa-f]{2} )*[0-9A-Fa-f]{1,2} ?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_SPACES = re.compile(r"\s+")
MAX_TEXT = 200


def decode_text(raw: bytes) -> str:
    """Bytes → one clean line: UTF-8 (else Latin-1), NULs and control characters removed,
    whitespace collapsed, cut to MAX_TEXT characters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return clean(repair_hex_lines(text))


def clean(text: str) -> str:
    text = _CONTROL.sub(" ", text.replace("\x00", ""))
    text = _SPACES.sub(" ", text).strip()
    return text[:MAX_TEXT]


def repair_hex_lines(text: str) -> str:
    """Undo net-snmp's display of a string with a NUL: the first line is text, the following
    lines are the rest as hex pairs ("Black Cartridge \\n38 32 37 41 ..."). Recordings made with
    snmpwalk carry this and agents replaying them serve it as is."""
    if "\n" not in text:
        return text
    first, *rest = text.split("\n")
    if not rest or not all(_HEX_LINE.match(line) or not line.strip() for line in rest):
        return text
    try:
        data = bytes.fromhex("".join(rest).replace(" ", ""))
    except ValueError:  # an odd number of digits: not net-snmp's output after all
        return text
    return first + data.decode("latin-1")
