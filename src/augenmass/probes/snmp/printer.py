"""`printer`: every marker supply of the Printer-MIB with name, colour and percent left, plus the
printer's status and detected error conditions (low toner, no paper, jam, door open, offline …).

Thresholds are ranges on percent left (`warning: "20:"`, `critical: "10:"`: alert below 20 / 10;
a value exactly on the bound is fine, like Checkmk's lower levels). A receptacle (waste box) is
judged on its space left. Special levels are states, not numbers (see printermib): "some
remaining" → `some_remaining_state` (default WARNING, like Checkmk), "level unknown" →
`unknown_level_state` (default UNKNOWN), "no restriction" → OK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from augenmass.core.fields import State, Threshold
from augenmass.core.thresholds import Range, evaluate
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, WARNING, ProbeOutcome
from augenmass.probes.snmp import printermib as mib
from augenmass.probes.snmp.client import SnmpError, SnmpValue
from augenmass.probes.snmp.generic import range_text, ranges
from augenmass.probes.snmp.setup import LABELS, SnmpOptions, SnmpProbeBase
from augenmass.probes.snmp.text import decode_text

_STATE_NAMES = {"ok": OK, "warning": WARNING, "critical": CRITICAL, "unknown": UNKNOWN}


class PrinterOptions(SnmpOptions):
    warning: Threshold | None = Field(
        default="20:", description="Range on percent left of each supply ('20:' alerts below 20)."
    )
    critical: Threshold | None = Field(default="10:", description="Like warning, for CRITICAL.")
    some_remaining_state: State = Field(
        default=WARNING, description="State of a supply that reports only 'some remaining'."
    )
    unknown_level_state: State = Field(
        default=UNKNOWN, description="State of a supply whose level is unknown."
    )


class PrinterProbe(SnmpProbeBase):
    type = "printer"
    Options = PrinterOptions

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        session = self.session(options, timeout)
        warn, crit = ranges({"warning": "20:", "critical": "10:", **options})
        some_state = _state(options.get("some_remaining_state", WARNING))
        unknown_state = _state(options.get("unknown_level_state", UNKNOWN))
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
        lines: list[str] = []
        perf: list[PerfDatum] = []
        states: list[int] = []
        alerts: list[str] = []
        for supply in supplies:
            state, line = _judge(supply, warn, crit, some_state, unknown_state)
            states.append(state)
            lines.append(f"[{LABELS[state]}] {line}" if state else line)
            if state:
                alerts.append(line)
            if supply.percent is not None:
                perf.append(_perfdatum(supply, warn, crit, perf))
        device_state, device_text = _device(status)
        states.append(device_state)
        if device_state:
            alerts.append(device_text)
        worst = _worst(states)
        if not supplies:
            worst = max(worst, unknown_state) if worst != CRITICAL else worst
            alerts.insert(0, "no marker supplies in the Printer-MIB")
        summary = "; ".join(alerts) if alerts else f"{len(supplies)} supplies OK"
        if device_state == OK:  # a device problem is among the alerts already
            summary += f"; {device_text}"
        return ProbeOutcome(
            worst,
            f"PRINTER {LABELS[worst]} - {summary}",
            long_output="\n".join(lines),
            perfdata=tuple(perf),
        )


def _judge(
    supply: mib.Supply,
    warn: Range | None,
    crit: Range | None,
    some_state: int,
    unknown_state: int,
) -> tuple[int, str]:
    name = supply.name
    if supply.colour and supply.colour not in name.lower():
        name += f" ({supply.colour})"
    if supply.colour_conflict:
        name += f" [colorant table says {supply.colour_conflict}]"
    left = "space left" if supply.receptacle else "left"
    percent = supply.percent
    if percent is not None:
        state = evaluate(percent, warn, crit) if warn or crit else OK
        capped = (
            " (level above max capacity)"
            if supply.level and supply.max and (supply.level > supply.max)
            else ""
        )
        return state, f"{name}: {_pct(percent)} % {left}{capped}"
    special = supply.special
    if special == "no restriction":
        return OK, f"{name}: no restriction"
    if special in ("some remaining", "some space left"):
        return some_state, f"{name}: {special}"
    if special == "level unknown":
        return unknown_state, f"{name}: level unknown"
    # a real level with an unknown or zero capacity: show it, judge nothing
    unit = mib.UNITS.get(supply.unit or 0, "units")
    return OK, f"{name}: level {supply.level} {unit} (capacity unknown)"


def _device(status: Mapping[str, SnmpValue]) -> tuple[int, str]:
    values = list(status.values())
    descr, device, printer, errors = (values + [SnmpValue("null")] * 4)[:4]
    parts = []
    state = OK
    if device.number is not None:
        text = mib.DEVICE_STATUS.get(device.number, f"status {device.number}")
        parts.append(f"device {text}")
        state = {"warning": WARNING, "down": CRITICAL}.get(text, OK)
    if printer.number is not None:
        parts.append(f"printer {mib.PRINTER_STATUS.get(printer.number, str(printer.number))}")
    if not errors.missing and isinstance(errors.value, bytes):
        conditions = mib.error_conditions(errors.value)
        for condition in conditions:
            state = max(state, CRITICAL if condition in mib.SEVERE_ERRORS else WARNING)
        parts.append(", ".join(conditions) if conditions else "no error conditions")
    name = decode_text(descr.octets) if not descr.missing else ""
    text = ", ".join(parts) if parts else "no printer status in HOST-RESOURCES-MIB"
    return state, f"{name}: {text}" if name else text


def _perfdatum(
    supply: mib.Supply, warn: Range | None, crit: Range | None, taken: list[PerfDatum]
) -> PerfDatum:
    label = supply.name[:60]
    if any(p.label == label for p in taken):
        label = f"{label} {supply.index}"
    return PerfDatum(label, supply.percent, "%", range_text(warn), range_text(crit), 0.0, 100.0)


def _pct(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def _state(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 3:
        return raw
    return _STATE_NAMES.get(str(raw).strip().lower(), UNKNOWN)


def _worst(states: list[int]) -> int:
    if CRITICAL in states:
        return CRITICAL
    return max(states, default=OK)
