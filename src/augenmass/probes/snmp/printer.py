"""`printer`: every marker supply of the Printer-MIB with name, colour and percent left, plus the
printer's status and detected error conditions (low toner, no paper, jam, door open, offline …).

What an office manager wants told: by default only supplies that run out raise a state — toner,
ink, drums/imaging units and waste containers (`supplies`); staples, fusers, kits and the like
are listed in the long output but stay quiet unless configured (`supplies`, `include`), and any
supply can be silenced (`ignore`). The problem line names the supply the way one orders it:
"Black toner 4% left (HP CF410A)", "Waste toner container 95% full (PN 008R13061)".

Thresholds are ranges on percent left (`warning: "20:"`, `critical: "10:"`: alert below 20 / 10;
a value exactly on the bound is fine, like Checkmk's lower levels). A waste container is judged
on its space left (RFC 3805: a receptacle's level is its remaining space) and shown as how full
it is, so the same thresholds fit; `waste_reports_fill` is for firmware that counts the other
way. Special levels are states, not numbers (see printermib): "some remaining" →
`some_remaining_state`, "level unknown" → `unknown_level_state` (both OK by default: the printer
says it is not empty, or it does not know), "no restriction" → OK, level 0 of an unknown capacity
→ empty (judged as 0 % left). The printer's own status is judged too: "down" and conditions
that stop printing (no paper, jam, door open …) are CRITICAL, the others (low paper, low toner …)
WARNING; a bare "warning" without a condition that says why raises `device_warning_state`.

The problem wording is plain English and names no state: the state is the result's own (the
Nagios-style "PRINTER WARNING - " prefix and the long output's tags, as every probe), and
notifications render it in the contact's language. Nothing is translated here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field

from augenmass.core.fields import State, Text, Threshold
from augenmass.core.thresholds import Range, evaluate
from augenmass.core.values import PerfDatum
from augenmass.probes.base import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    OptionsMemo,
    ProbeOutcome,
    parse_options,
)
from augenmass.probes.snmp import printermib as mib
from augenmass.probes.snmp.client import SnmpError, SnmpValue
from augenmass.probes.snmp.generic import range_text, ranges
from augenmass.probes.snmp.setup import LABELS, SnmpOptions, SnmpProbeBase
from augenmass.probes.snmp.text import decode_text

SupplyKind = Literal["toner", "ink", "drum", "waste", "staples", "other", "all"]
DEFAULT_SUPPLIES: list[SupplyKind] = ["toner", "ink", "drum", "waste"]


class PrinterOptions(SnmpOptions):
    warning: Threshold | None = Field(
        default="20:",
        description="Range on percent left of each watched supply ('20:' alerts below 20); "
        "for a waste container on its space left ('20:' alerts when more than 80 % full).",
    )
    critical: Threshold | None = Field(default="10:", description="Like warning, for CRITICAL.")
    supplies: list[SupplyKind] = Field(
        default=DEFAULT_SUPPLIES,
        description="Kinds of supply that may raise a state: toner, ink, drum (drums and "
        "imaging units), waste (waste toner and ink containers, alerting when nearly full), "
        "staples, other (fuser, transfer belt, maintenance kits …) or all. The rest are "
        "listed in the long output only.",
    )
    include: list[Text] = Field(
        default=[],
        description="Shell patterns on the supply description (any case) that may raise a state "
        "whatever their kind, e.g. ['*fuser*'].",
    )
    ignore: list[Text] = Field(
        default=[],
        description="Shell patterns on the supply description (any case) that never raise a "
        "state, e.g. a sensor that always reads 0; wins over supplies and include.",
    )
    some_remaining_state: State = Field(
        default=OK,
        description="State of a watched supply that reports only 'some remaining' (the "
        "Printer-MIB's -3: at least one left, level unknown).",
    )
    unknown_level_state: State = Field(
        default=OK, description="State of a watched supply whose level is unknown (-2)."
    )
    device_warning_state: State = Field(
        default=OK,
        description="State when the printer calls itself 'warning' (hrDeviceStatus) without an "
        "error condition that says why; its conditions (no paper, jam, low toner …) and "
        "'down' are judged anyway.",
    )
    waste_reports_fill: bool = Field(
        default=False,
        description="The printer reports how full its waste containers are, not their space "
        "left as RFC 3805 says (an empty box reads 0 %).",
    )


_OPTIONS: OptionsMemo[PrinterOptions] = OptionsMemo(1024)


@dataclass(frozen=True, slots=True)
class _Policy:
    """Which supplies may raise a state, and the states of the special levels."""

    kinds: frozenset[str]
    include: tuple[str, ...]
    ignore: tuple[str, ...]
    some_state: int
    unknown_state: int
    reports_fill: bool

    @classmethod
    def of(cls, opts: PrinterOptions) -> _Policy:
        kinds = frozenset(mib.KINDS if "all" in opts.supplies else opts.supplies)
        return cls(
            kinds,
            tuple(p.lower() for p in opts.include),
            tuple(p.lower() for p in opts.ignore),
            opts.some_remaining_state,
            opts.unknown_level_state,
            opts.waste_reports_fill,
        )

    def watches(self, supply: mib.Supply) -> bool:
        name = supply.name.lower()
        if any(fnmatchcase(name, p) for p in self.ignore):
            return False
        return supply.kind in self.kinds or any(fnmatchcase(name, p) for p in self.include)


@dataclass(frozen=True, slots=True)
class _Judged:
    supply: mib.Supply
    state: int
    watched: bool
    left: float | None  # percent left; space left for a receptacle
    amount: str  # "4% left", "95% full", "some remaining" …


class PrinterProbe(SnmpProbeBase):
    type = "printer"
    Options = PrinterOptions

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        session = self.session(options, timeout)
        opts = _OPTIONS.get(options, lambda: parse_options(PrinterOptions, "printer", options))
        warn, crit = ranges({"warning": opts.warning, "critical": opts.critical})
        policy = _Policy.of(opts)
        columns = [*mib.SUPPLY_COLUMNS.values(), mib.COLORANT_VALUE]
        status_oids = [
            f"{oid}.1"
            for oid in (
                mib.HR_DEVICE_DESCR,
                mib.HR_DEVICE_STATUS,
                mib.HR_PRINTER_STATUS,
                mib.HR_PRINTER_ERRORS,
            )
        ]
        try:
            async with asyncio.timeout(session.budget):
                tables, status = await asyncio.gather(
                    session.walk(columns, max_rows=500),
                    session.get(status_oids),
                )
        except (SnmpError, TimeoutError) as exc:
            return session.failure("PRINTER", exc)
        supplies = mib.supplies(tables, tables.get(mib.COLORANT_VALUE, {}))
        judged = [_judge(s, policy, warn, crit) for s in supplies]
        lines = [_line(j) for j in judged]
        perf: list[PerfDatum] = []
        for j in judged:
            if j.left is not None:
                perf.append(_perfdatum(j, warn, crit, perf))
        alerts = [_headline(j) for j in judged if j.state != OK]
        states = [j.state for j in judged]
        device_state, device_text = _device(status, opts.device_warning_state)
        states.append(device_state)
        if device_state:
            alerts.append(device_text)
        worst = _worst(states)
        watched = [j for j in judged if j.watched]
        if not watched and worst != CRITICAL:
            # nothing to judge is no all-clear: the office would never hear of an empty toner
            worst = UNKNOWN
            alerts.insert(0, _nothing_watched(supplies, policy))
        summary = "; ".join(alerts) if alerts else _all_fine(watched)
        if device_state == OK:  # a device problem is among the alerts already
            summary += f"; {device_text}"
        return ProbeOutcome(
            worst,
            f"PRINTER {LABELS[worst]} - {summary}",
            long_output="\n".join(lines),
            perfdata=tuple(perf),
        )


def _judge(supply: mib.Supply, policy: _Policy, warn: Range | None, crit: Range | None) -> _Judged:
    left = supply.percent
    if left is not None and policy.reports_fill and supply.receptacle:
        left = round(100.0 - left, 1)
    watched = policy.watches(supply)
    amount = _amount(supply, left)
    if not watched:
        return _Judged(supply, OK, False, left, amount)
    special = supply.special
    if left is not None or supply.empty:
        value = 0.0 if left is None else left
        state = evaluate(value, warn, crit) if warn or crit else OK
    elif special in ("some remaining", "some space left"):
        state = policy.some_state
    elif special == "level unknown":
        state = policy.unknown_state
    else:  # no restriction, or a level of unknown capacity: nothing to judge
        state = OK
    return _Judged(supply, state, True, left, amount)


def _amount(supply: mib.Supply, left: float | None) -> str:
    if left is not None:
        if supply.receptacle:  # people think of a waste box as filling up
            return f"{_pct(round(100.0 - left, 1))}% full"
        return f"{_pct(left)}% left"
    if supply.empty:
        return "full" if supply.receptacle else "empty"
    special = supply.special
    if special is not None:
        return special
    unit = mib.UNITS.get(supply.unit or 0, "units")
    return f"level {supply.level} {unit} (capacity unknown)"


def _line(j: _Judged) -> str:
    """The long output's line: the supply exactly as the printer names it."""
    supply = j.supply
    name = supply.name
    if supply.colour and supply.colour not in name.lower():
        name += f" ({supply.colour})"
    if supply.colour_conflict:
        name += f" [colorant table says {supply.colour_conflict}]"
    capped = (
        " (level above max capacity)"
        if j.left is not None and supply.level and supply.max and supply.level > supply.max
        else ""
    )
    quiet = "" if j.watched else " (no alerts)"
    line = f"{name}: {j.amount}{capped}{quiet}"
    return f"[{LABELS[j.state]}] {line}" if j.state else line


# words the headline's title already says, or that add nothing to an order number
_FILLER = ("cartridge", "cartridges", "supply", "unit", "tank", "container", "box", "kit")
_KIND_NOUNS = {
    "toner": ("toner",),
    "ink": ("ink", "tinte", "encre", "tinta", "inchiostro"),
    "drum": ("drum", "opc", "photoconductor", "imaging"),
    "waste": ("waste", "toner", "ink", "collection", "resttoner"),
    "staples": ("staples",),
}
_SERIAL = re.compile(r";\s*SN\S*", re.IGNORECASE)  # Xerox: "…, PN 006R01509;SN48178080E0000481"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,;:])")


def _headline(j: _Judged) -> str:
    """One problem for the summary line: "Black toner 4% left (HP CF410A)"."""
    title, detail = _title(j.supply)
    text = f"{title[:1].upper()}{title[1:]} {j.amount}"
    return f"{text} ({detail})" if detail else text


def _title(supply: mib.Supply) -> tuple[str, str]:
    """What the supply is in plain words, and the rest of its description (maker, order number)."""
    kind = supply.kind
    if kind == "other":
        return supply.name, ""
    words = [*_FILLER, *_KIND_NOUNS[kind]]
    colour = supply.colour if kind in ("toner", "ink", "drum") else None
    if colour:
        words += mib.colour_words(colour)
    if kind == "waste":
        of = supply.waste_of
        title = f"waste {of} container" if of else "waste container"
        if not set(re.findall(r"[a-z]+", supply.name.lower())) & set(_KIND_NOUNS["waste"]):
            # the title is our word for it ("Maintenance Box" is Epson's): keep theirs whole
            return title, _detail(supply.name, ())
    elif kind == "drum":
        title = _drum_noun(supply.name)
    else:
        title = kind
    if colour:
        title = f"{colour} {title}"
    return title, _detail(supply.name, words)


def _drum_noun(name: str) -> str:
    words = set(re.findall(r"[a-z]+", name.lower()))
    if "drum" not in words and "imaging" in words:
        return "imaging unit"  # what Dell, Lexmark and Brother print on the box
    if "drum" not in words and "photoconductor" in words:
        return "photoconductor"
    return "drum"


def _detail(name: str, words: Sequence[str]) -> str:
    text = _SERIAL.sub("", name)
    if words:
        pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    text = text.replace("(", " ").replace(")", " ")
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split())).strip(" ,;:-/")
    return text if any(c.isalnum() for c in text) else ""


def _all_fine(watched: list[_Judged]) -> str:
    count = f"{len(watched)} supplies" if len(watched) != 1 else "1 supply"
    levels = [j for j in watched if j.left is not None]
    if not levels:
        return f"{count} fine"
    lowest = min(levels, key=lambda j: j.left if j.left is not None else 100.0)
    return f"{count} fine, lowest: {_headline(lowest)}"


def _nothing_watched(supplies: list[mib.Supply], policy: _Policy) -> str:
    if not supplies:
        return "no marker supplies in the Printer-MIB"
    kinds = ", ".join(k for k in mib.KINDS if k in policy.kinds) or "none"
    return (
        f"none of the {len(supplies)} supplies is watched (kinds: {kinds}; "
        "see the options supplies, include and ignore)"
    )


def _device(status: Mapping[str, SnmpValue], warning_state: int) -> tuple[int, str]:
    values = list(status.values())
    descr, device, printer, errors = (values + [SnmpValue("null")] * 4)[:4]
    parts = []
    state = OK
    if device.number is not None:
        text = mib.DEVICE_STATUS.get(device.number, f"status {device.number}")
        parts.append(f"device {text}")
        # "warning" alone is the printer's summary of what it also reports in detail (a
        # supply running low, a condition below), so by default it raises nothing by itself
        state = {"warning": warning_state, "down": CRITICAL}.get(text, OK)
    if printer.number is not None:
        parts.append(f"printer {mib.PRINTER_STATUS.get(printer.number, str(printer.number))}")
    if not errors.missing and isinstance(errors.value, bytes):
        conditions = mib.error_conditions(errors.value)
        found = [CRITICAL if c in mib.SEVERE_ERRORS else WARNING for c in conditions]
        state = _worst([state, *found])
        parts.append(", ".join(conditions) if conditions else "no error conditions")
    name = decode_text(descr.octets) if not descr.missing else ""
    text = ", ".join(parts) if parts else "no printer status in HOST-RESOURCES-MIB"
    return state, f"{name}: {text}" if name else text


def _perfdatum(
    j: _Judged, warn: Range | None, crit: Range | None, taken: list[PerfDatum]
) -> PerfDatum:
    # percent left, for a waste container its space left: the value the thresholds judge
    label = j.supply.name[:60]
    if any(p.label == label for p in taken):
        label = f"{label} {j.supply.index}"
    return PerfDatum(label, j.left, "%", range_text(warn), range_text(crit), 0.0, 100.0)


def _pct(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def _worst(states: list[int]) -> int:
    if CRITICAL in states:
        return CRITICAL
    return max(states, default=OK)
