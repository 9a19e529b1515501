"""`snmp`: GET one or more OIDs; thresholds on numbers, exact or regex match on strings, per-second
rates of counters. Also the threshold helpers the other SNMP check types share; their connection
options and session are in `setup`.

Secrets (community, v3 keys) never appear in output, long output, notes or errors: texts are
built from the host, port and OIDs only, and `SnmpError` texts are scrubbed.

States follow check_snmp: a threshold breach is WARNING/CRITICAL, an OID the agent does not have
is UNKNOWN (no data to judge), a failed string match is CRITICAL; no answer at all is CRITICAL
(an unreachable target is a result, see CONTRIBUTING).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator

from augenmass.core.clock import Clock
from augenmass.core.fields import Text, Threshold
from augenmass.core.thresholds import Range, evaluate, parse_range
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, OptionError, ProbeOutcome
from augenmass.probes.snmp.client import SnmpError, SnmpValue, parse_oid
from augenmass.probes.snmp.rate import CounterMemory
from augenmass.probes.snmp.setup import LABELS, SnmpOptions, SnmpProbeBase
from augenmass.probes.snmp.text import decode_text

_COUNTERS = ("counter32", "counter64")


class SnmpCheckOptions(SnmpOptions):
    oid: str | list[str] = Field(description="Numeric OID, or a list of them, to GET.")
    label: str | list[str] | None = Field(
        default=None, description="Label in output and perfdata (a list: one per OID)."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the number (or its rate)."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    expect: Text | None = Field(default=None, description="A text value must equal this.")
    regex: Text | None = Field(
        default=None, description="A text value must contain a match of this regular expression."
    )
    rate: bool = Field(
        default=False, description="Counters: judge and report the change per second."
    )
    uom: Text = Field(default="", description="Unit of measurement in the perfdata (e.g. B, %, c).")

    @field_validator("oid")
    @classmethod
    def _numeric_oids(cls, value: str | list[str]) -> str | list[str]:
        for oid in [value] if isinstance(value, str) else value:
            parse_oid(oid)
        if isinstance(value, list) and not value:
            raise ValueError("at least one OID")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


def ranges(options: Mapping[str, Any], prefix: str = "") -> tuple[Range | None, Range | None]:
    try:
        warn, crit = options.get(prefix + "warning"), options.get(prefix + "critical")
        return (
            None if warn in (None, "") else parse_range(warn),
            None if crit in (None, "") else parse_range(crit),
        )
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def range_text(rng: Range | None) -> str | None:
    return None if rng is None else str(rng)


def _list(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [str(raw)] if isinstance(raw, str) else [str(x) for x in raw]


class SnmpProbe(SnmpProbeBase):
    type = "snmp"
    Options = SnmpCheckOptions

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self.counters = CounterMemory(clock=self.clock)

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        session = self.session(options, timeout)
        oids = _list(options.get("oid"))
        if not oids:
            raise OptionError("snmp: `oid` is required")
        try:
            for oid in oids:
                parse_oid(oid)
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        labels = _list(options.get("label")) or []
        warn, crit = ranges(options)
        try:
            async with asyncio.timeout(session.budget):
                values = await session.get(oids)
        except (SnmpError, TimeoutError) as exc:
            return session.failure("SNMP", exc)
        items = []
        for i, (oid, value) in enumerate(values.items()):
            label = labels[i] if i < len(labels) else oid
            key = (*session.key, oid)
            items.append(self._judge(label, value, options, warn, crit, key))
        status = _worst(s for s, _, _ in items)
        text = ", ".join(t for _, t, _ in items)
        perf = tuple(p for _, _, p in items if p is not None)
        return ProbeOutcome(status, f"SNMP {LABELS[status]} - {text}", perfdata=perf)

    def _judge(
        self,
        label: str,
        value: SnmpValue,
        options: Mapping[str, Any],
        warn: Range | None,
        crit: Range | None,
        key: tuple[Any, ...],
    ) -> tuple[int, str, PerfDatum | None]:
        if value.missing:
            return UNKNOWN, f"{label}: {value.kind} (the agent has no such OID)", None
        uom = str(options.get("uom") or "")
        if isinstance(value.value, int):
            number: float = value.value
            if options.get("rate"):
                if value.kind not in _COUNTERS:
                    return UNKNOWN, f"{label}: rate asked, but the value is {value.kind}", None
                rate = self.counters.rate(key, value.value, value.kind)
                if rate.per_second is None:
                    return OK, f"{label}: counter {value.value}, {rate.note}", None
                number = round(rate.per_second, 3)
            state = evaluate(number, warn, crit) if warn or crit else OK
            mark = "" if state == OK else f" ({LABELS[state]})"
            perf_uom = uom if uom in ("s", "ms", "us", "%", "B", "KB", "MB", "TB", "c") else ""
            per = "/s" if options.get("rate") else ""
            return (
                state,
                f"{label} {_num(number)}{uom}{per}{mark}",
                PerfDatum(label, float(number), perf_uom, range_text(warn), range_text(crit)),
            )
        text = decode_text(value.octets) if isinstance(value.value, bytes) else str(value.value)
        return _match(label, text, options)


def _match(label: str, text: str, options: Mapping[str, Any]) -> tuple[int, str, None]:
    expect, regex = options.get("expect"), options.get("regex")
    shown = f'{label} "{text}"'
    if expect is not None and text != str(expect):
        return CRITICAL, f'{shown} (expected "{expect}")', None
    if regex is not None:
        try:
            found = re.search(str(regex), text)
        except re.error as exc:
            raise OptionError(f"regex: {exc}") from None
        if not found:
            return CRITICAL, f"{shown} (no match for /{regex}/)", None
    return OK, shown, None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def _worst(states: Sequence[int] | Any) -> int:
    found = list(states)
    if not found:
        return UNKNOWN
    if CRITICAL in found:
        return CRITICAL
    return int(max(found))
