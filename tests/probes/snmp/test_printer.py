"""printer: every supply of every printer recording against the answer key in SOURCES.md, and
the defaults an office manager wants (only what runs out raises a state, said plainly)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from augenmass.core.thresholds import parse_range
from augenmass.probes.base import OptionError
from augenmass.probes.snmp.printer import PrinterOptions, PrinterProbe, _headline, _judge, _Policy
from augenmass.probes.snmp.printermib import Supply, error_conditions
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
        waste = "Waste" in description  # the key's percent is the space left (RFC 3805)
        if percent is None:
            assert ("some space left" if waste else "some remaining") in line
            assert description not in perf
        else:
            assert perf[description] == percent
            shown = round(100 - percent, 1) if waste else percent
            text = f"{shown:g}" if shown != int(shown) else str(int(shown))
            assert f": {text}% {'full' if waste else 'left'}" in line


@pytest.mark.parametrize(
    ("recording", "state", "words"),
    [
        ("epson", 2, ["Black ink 1% left (T9441/T9451/T9461)", "Yellow ink 1% left (T9444/T9454)"]),
        ("jetdirect_m880", 1, ["PRINTER WARNING - Cyan toner 16% left (827A HP CF301A); HP Color"]),
        ("canonprinter_tm", 0, ["6 supplies fine, lowest: Yellow ink 60% left (CANON)"]),
        ("dell-laser_s5830dn", 0, ["2 supplies fine, lowest: Black toner 49% left; Dell"]),
        # Cyan at exactly 20 % is not below 20; the bare "device warning" is shown, not judged
        ("ricoh_mpc3002", 0, ["lowest: Cyan toner 20% left", "device warning"]),
        ("konica", 0, ["lowest: Black drum 20% left", "device warning"]),
        ("xerox", 2, ["Waste toner container 95% full (PN 008R13061)", "no printer status"]),
    ],
)
async def test_states(
    recording: str, state: int, words: list[str], snmp_agent: Agent, probe: PrinterProbe
) -> None:
    result = await probe.run(snmp_agent.options(recording), 3.0)
    assert result.status == state, result.output
    for word in words:
        assert word in result.output


async def test_low_toner_warns_and_the_rest_is_listed_quietly(
    snmp_agent: Agent, probe: PrinterProbe
) -> None:
    result = await probe.run(snmp_agent.options("jetdirect_m880"), 3.0)
    assert result.status == 1
    # one problem, said the way it is ordered, and nothing about staples or kits
    assert result.output == (
        "PRINTER WARNING - Cyan toner 16% left (827A HP CF301A); "
        "HP Color LaserJet flow MFP M880: device running, no error conditions"
    )
    text = result.long_output
    assert "[WARNING] Cyan Cartridge 827A HP CF301A: 16% left\n" in text
    assert "Black Drum 828A HP CF358A: 53% left\n" in text  # a drum is watched
    for quiet in (
        "Stapler 1 HP C8091A: some remaining (no alerts)",
        "Stapler 3 HP CC383A: some remaining (no alerts)",
        "Transfer Kit HP D7H14A: 89% left (no alerts)",
        "Fuser Kit HP 110V-C1N54A, 220V-C1N58A: 84% left (no alerts)",
    ):
        assert quiet in text
    assert "[" not in text.replace("[WARNING] Cyan", "")


async def test_staples_and_some_remaining_count_when_configured(
    snmp_agent: Agent, probe: PrinterProbe
) -> None:
    options = snmp_agent.options(
        "jetdirect_m880",
        supplies=["toner", "ink", "drum", "waste", "staples"],
        some_remaining_state="warning",
    )
    result = await probe.run(options, 3.0)
    assert result.status == 1
    assert "Staples some remaining (Stapler 1 HP C8091A)" in result.output
    assert "[WARNING] Stapler 2 HP CC383A: some remaining" in result.long_output
    # staples alone are not enough: "some remaining" is fine unless said otherwise
    staples = await probe.run(snmp_agent.options("jetdirect_m880", supplies=["staples"]), 3.0)
    assert staples.status == 0, staples.output
    assert "3 supplies fine" in staples.output
    assert "Cyan Cartridge 827A HP CF301A: 16% left (no alerts)" in staples.long_output


async def test_include_and_ignore_by_description(snmp_agent: Agent, probe: PrinterProbe) -> None:
    options = snmp_agent.options(
        "jetdirect_m880", include=["*TRANSFER KIT*"], ignore=["cyan cartridge*"], warning="90:"
    )
    result = await probe.run(options, 3.0)
    assert result.status == 1
    assert "Transfer Kit HP D7H14A 89% left" in result.output  # any case matches
    assert "Cyan toner" not in result.output  # ignored wins, even at 16 %
    assert "Cyan Cartridge 827A HP CF301A: 16% left (no alerts)" in result.long_output
    assert "Document Feeder Kit HP C1P70A: 99% left (no alerts)" in result.long_output
    every = await probe.run(snmp_agent.options("jetdirect_m880", supplies=["all"]), 3.0)
    assert "(no alerts)" not in every.long_output


async def test_unknown_level_counts_when_configured(snmp_agent: Agent, probe: PrinterProbe) -> None:
    plain = await probe.run(snmp_agent.options("own-printer-classes"), 3.0)
    assert "Magenta Toner [colorant table says yellow]: level unknown\n" in plain.long_output
    assert "Magenta" not in plain.output
    told = await probe.run(
        snmp_agent.options("own-printer-classes", unknown_level_state="unknown"), 3.0
    )
    assert "[UNKNOWN] Magenta Toner" in told.long_output
    assert "Magenta toner level unknown" in told.output


async def test_waste_box_near_full_warns_and_an_empty_one_does_not(
    snmp_agent: Agent, probe: PrinterProbe
) -> None:
    # no class column: a waste container by its description, its level is the space left
    xerox = await probe.run(snmp_agent.options("xerox"), 3.0)
    assert xerox.status == 2
    assert xerox.output.startswith("PRINTER CRITICAL - Waste toner container 95% full")
    assert "[CRITICAL] Waste Toner Container, PN 008R13061;SNunknown: 95% full" in xerox.long_output
    own = await probe.run(snmp_agent.options("own-printer-classes"), 3.0)  # class receptacle
    assert "[WARNING] Waste Toner Box: 85% full" in own.long_output
    assert "Waste toner container 85% full;" in own.output
    ricoh = await probe.run(snmp_agent.options("ricoh_mpc3002"), 3.0)  # type wasteToner, 100 of 100
    assert ricoh.status == 0, ricoh.output
    assert "Waste Toner: 0% full\n" in ricoh.long_output
    canon = await probe.run(snmp_agent.options("canonprinter_tm"), 3.0)  # wasteInk, 6030 of 6700
    assert canon.status == 0
    assert canon.long_output.endswith("CANON Waste Ink Tank: 10% full")
    konica = await probe.run(snmp_agent.options("konica"), 3.0)  # -3: some space left
    assert "Waste Toner Box: some space left" in konica.long_output


async def test_waste_reported_as_fill(snmp_agent: Agent, probe: PrinterProbe) -> None:
    ricoh = await probe.run(snmp_agent.options("ricoh_mpc3002", waste_reports_fill=True), 3.0)
    assert ricoh.status == 2
    assert "Waste toner container 100% full" in ricoh.output
    assert {p.label: p.value for p in ricoh.perfdata}["Waste Toner"] == 0.0  # space left
    xerox = await probe.run(snmp_agent.options("xerox", waste_reports_fill=True), 3.0)
    assert xerox.status == 0
    assert "Waste Toner Container, PN 008R13061;SNunknown: 5% full" in xerox.long_output


async def test_kinds_from_the_description_when_the_type_is_missing(
    snmp_agent: Agent, probe: PrinterProbe
) -> None:
    result = await probe.run(snmp_agent.options("xerox"), 3.0)
    quiet = [line for line in result.long_output.splitlines() if line.endswith("(no alerts)")]
    assert [line.split(",")[0] for line in quiet] == [
        "Fuser",
        "Transfer Belt Cleaner",
        "Second Bias Transfer Roll",
    ]
    konica = await probe.run(snmp_agent.options("konica", warning="60:", critical=None), 3.0)
    assert konica.output.startswith(
        "PRINTER WARNING - Cyan toner 29% left; Magenta toner 31% left; Yellow toner 58% left; "
        "Cyan drum 59% left; Yellow drum 59% left; Black drum 20% left; Generic 28C-1"
    )


async def test_nothing_watched_is_unknown(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("dell-laser_s5830dn", supplies=["staples"]), 3.0)
    assert result.status == 3
    assert "none of the 4 supplies is watched (kinds: staples;" in result.output


async def test_device_warning_state(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("konica", device_warning_state="warning"), 3.0)
    assert result.status == 1
    assert result.output == "PRINTER WARNING - Generic 28C-1: device warning"


async def test_bad_supply_kind_is_an_option_error(snmp_agent: Agent, probe: PrinterProbe) -> None:
    with pytest.raises(OptionError, match="supplies"):
        await probe.run(snmp_agent.options("konica", supplies=["paper"]), 3.0)


async def test_boundary_value_is_not_below(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("konica"), 3.0)
    assert "[WARNING] Drum Cartridge (Black)" not in result.long_output
    assert "Drum Cartridge (Black): 20% left" in result.long_output


async def test_some_remaining_state_is_configurable(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("konica", some_remaining_state="warning"), 3.0)
    assert result.status == 1
    assert result.output.startswith("PRINTER WARNING - Waste toner container some space left;")


async def test_class_unit_colorant_and_error_bits(snmp_agent: Agent, probe: PrinterProbe) -> None:
    result = await probe.run(snmp_agent.options("own-printer-classes"), 3.0)
    text = result.long_output
    assert "[CRITICAL] Black Toner CP10: 8% left" in text  # NUL stripped, black from colorant
    assert "Toner Cartridge 2 (cyan): 55% left" in text  # "Cyan" from the colorant table
    assert "Magenta Toner [colorant table says yellow]: level unknown" in text
    assert "[WARNING] Waste Toner Box: 85% full" in text  # receptacle: 15 % space left
    assert "Drum Unit: level 4000 impressions (capacity unknown)\n" in text
    assert "Staples: no restriction (no alerts)" in text
    assert "Fuser Kit: level 7 impressions (capacity unknown) (no alerts)" in text  # BEL removed
    assert result.status == 2
    assert result.output.startswith("PRINTER CRITICAL - Black toner 8% left (CP10); ")
    assert "low toner, door open, jammed" in result.output
    assert "device warning" in result.output and "printer idle" in result.output


@pytest.mark.parametrize(
    ("supply", "headline"),
    [
        (
            Supply("1.1", "Black Toner Cartridge HP CF410A", 3, 21, 19, 100, 4, "black"),
            "Black toner 4% left (HP CF410A)",
        ),
        (
            Supply("1.2", "Toner Collection Unit", 4, 4, 19, 100, 8),
            "Waste toner container 92% full",
        ),
        (Supply("1.3", "Imaging Unit", 3, 9, 7, 60000, 3000), "Imaging unit 5% left"),
        (
            Supply("1.4", "Stapler 1 HP C8091A", 3, 32, 18, -2, 0),
            "Staples empty (Stapler 1 HP C8091A)",
        ),
        (
            Supply("1.5", "Maintenance Box", 4, 8, 19, -2, 0),
            "Waste ink container full (Maintenance Box)",
        ),
    ],
)
def test_problem_lines(supply: Supply, headline: str) -> None:
    policy = _Policy.of(PrinterOptions(supplies=["all"]))
    judged = _judge(supply, policy, parse_range("20:"), parse_range("10:"))
    assert judged.state == 2
    assert _headline(judged) == headline


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
