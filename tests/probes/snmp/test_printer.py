"""printer: every supply of every printer recording against the answer key in SOURCES.md."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from augenmass.probes.snmp.printer import PrinterProbe
from augenmass.probes.snmp.printermib import error_conditions
from augenmass.probes.snmp.text import decode_text

Agent = Any  # the snmp_agent fixture (conftest.Agent); conftests are not importable

SOURCES = Path(__file__).resolve().parents[2] / "fixtures" / "snmp" / "SOURCES.md"


def _answer_key() -> list[tuple[str, str, str, float | None]]:
    """(recording, index, description, expected percent) for every printer supply row."""
    text = SOURCES.read_text().split("## Answer key: disk usage")[0]
    rows = []
    for section in re.split(r"^#### `", text, flags=re.M)[1:]:
        name = section.split(".snmprec`")[0]
        for line in section.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 9 and re.fullmatch(r"\d+\.\d+", cells[0]):
                expected = None if cells[8] == "-" else float(cells[8])
                rows.append((name, cells[0], cells[1], expected))
    return rows


KEY = _answer_key()


def test_answer_key_was_read() -> None:
    assert len({r[0] for r in KEY}) == 7 and len(KEY) == 63


@pytest.fixture
async def probe() -> AsyncIterator[PrinterProbe]:
    p = PrinterProbe()
    yield p
    p.client.close()


@pytest.mark.parametrize("recording", sorted({r[0] for r in KEY}))
async def test_every_supply_and_percentage(
    recording: str, snmp_agent: Agent, probe: PrinterProbe
) -> None:
    result = await probe.run(snmp_agent.options(recording), 3.0)
    lines = result.long_output.splitlines()
    expected = [r for r in KEY if r[0] == recording]
    assert len(lines) == len(expected)
    perf = {p.label: p.value for p in result.perfdata}
    for (_, _, description, percent), line in zip(expected, lines, strict=True):
        assert description in line
        if percent is None:
            assert "some remaining" in line
            assert description not in perf
        else:
            assert perf[description] == percent
            shown = f"{percent:g}" if percent != int(percent) else str(int(percent))
            assert f": {shown} % left" in line


@pytest.mark.parametrize(
    ("recording", "state", "words"),
    [
        ("epson", 2, ["Black Ink Supply Unit T9441/T9451/T9461: 1 % left"]),
        ("jetdirect_m880", 1, ["Cyan Cartridge 827A HP CF301A: 16 % left", "some remaining"]),
        ("canonprinter_tm", 0, ["6 supplies OK", "device running, no error conditions"]),
        ("dell-laser_s5830dn", 0, ["4 supplies OK"]),
        ("ricoh_mpc3002", 1, ["device warning"]),  # Cyan at exactly 20 % is not below 20
        ("xerox", 2, ["Waste Toner Container", "5 % left", "no printer status"]),
    ],
)
async def test_states(
    recording: str, state: int, words: list[str], snmp_agent: Agent, probe: PrinterProbe
) -> None:
    result = await probe.run(snmp_agent.options(recording), 3.0)
    assert result.status == state, result.output
    for word in words:
        assert word in result.output


async def test_boundary_value_is_not_below(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("konica"), 3.0)
    assert "[WARNING] Drum Cartridge (Black)" not in result.long_output
    assert "Drum Cartridge (Black): 20 % left" in result.long_output


async def test_some_remaining_state_is_configurable(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(
        snmp_agent.options("konica", some_remaining_state="ok", unknown_level_state="ok"), 3.0
    )
    assert "Waste Toner Box" not in result.output  # only the device's own "warning" remains
    assert result.status == 1 and "device warning" in result.output


async def test_class_unit_colorant_and_error_bits(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("own-printer-classes"), 3.0)
    text = result.long_output
    assert "[CRITICAL] Black Toner CP10: 8 % left" in text  # NUL stripped, black from colorant
    assert "Toner Cartridge 2 (cyan): 55 % left" in text  # "Cyan" from the colorant table
    assert "Magenta Toner [colorant table says yellow]: level unknown" in text
    assert "[UNKNOWN] Magenta Toner" in text
    assert "[WARNING] Waste Toner Box: 15 % space left" in text  # receptacle
    assert "Drum Unit: level 4000 impressions (capacity unknown)" in text
    assert "Staples: no restriction" in text
    assert "Fuser Kit: level 7 impressions (capacity unknown)" in text  # BEL bytes removed
    assert result.status == 2
    assert "low toner, door open, jammed" in result.output
    assert "device warning" in result.output and "printer idle" in result.output


def test_error_bits_msb_first() -> None:
    assert error_conditions(b"\x80\x00") == ["low paper"]
    assert error_conditions(b"\x01\x00") == ["service requested"]
    assert error_conditions(b"\x00\x20") == ["marker supply missing"]
    assert error_conditions(b"") == []
    assert error_conditions(b"\x00\x02\xff") == ["overdue preventive maintenance"]


def test_strings_are_sanitised() -> None:
    raw = bytes.fromhex(
        "426C61636B20436172747269646765200a3338203332203337203431203230"
        "20343820353020323020343320343620333320333020333020343120303020"
    )
    assert decode_text(raw) == "Black Cartridge 827A HP CF300A"
    assert decode_text(b"Toner\x1b[31m red\r\nINJECT\x00") == "Toner [31m red INJECT"
    assert decode_text(b"\xff\xfeA") == "ÿþA"
    assert len(decode_text(b"x" * 5000)) == 200
