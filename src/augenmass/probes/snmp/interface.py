"""`snmp-interface`: oper status, traffic and error rates of one interface (IF-MIB).

Rates need the previous counter sample; it is kept in this probe instance keyed by
(host, port, credential digest, ifIndex) with the sample time. The first run reports the raw
counters and "no rate yet" (OK). 64-bit counters (ifHCIn/OutOctets) are used when the agent has
them, else the 32-bit ones (wrap handled in snmprate).

Options: `interface` (ifIndex number, or the ifName / ifDescr text), thresholds `in_warning`,
`in_critical`, `out_warning`, `out_critical` (bits per second) and `errors_warning`,
`errors_critical` (errors per second, in + out); `down_state` (default CRITICAL) when the
interface is not up while admin-up; admin-down is reported as OK (switched off on purpose).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from augenmass.core.clock import Clock
from augenmass.core.fields import State, Text, Threshold
from augenmass.core.thresholds import evaluate
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, OptionError, ProbeOutcome
from augenmass.probes.snmp.client import SnmpError, SnmpValue
from augenmass.probes.snmp.generic import range_text as _rt
from augenmass.probes.snmp.generic import ranges
from augenmass.probes.snmp.rate import CounterMemory
from augenmass.probes.snmp.setup import LABELS, Session, SnmpOptions, SnmpProbeBase
from augenmass.probes.snmp.text import decode_text

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"
IF_DESCR, IF_NAME = f"{IF}.2", f"{IFX}.1"
FIELDS = {
    "descr": f"{IF}.2",
    "speed": f"{IF}.5",
    "admin": f"{IF}.7",
    "oper": f"{IF}.8",
    "in32": f"{IF}.10",
    "in_errors": f"{IF}.14",
    "out32": f"{IF}.16",
    "out_errors": f"{IF}.20",
    "name": f"{IFX}.1",
    "in64": f"{IFX}.6",
    "out64": f"{IFX}.10",
    "high_speed": f"{IFX}.15",
}
OPER = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}


class SnmpInterfaceOptions(SnmpOptions):
    interface: Text | int = Field(
        description="The interface: ifIndex number, or its ifName / ifDescr text."
    )
    in_warning: Threshold | None = Field(
        default=None, description="Range on incoming traffic in bits per second."
    )
    in_critical: Threshold | None = Field(
        default=None, description="Like in_warning, for CRITICAL."
    )
    out_warning: Threshold | None = Field(
        default=None, description="Range on outgoing traffic in bits per second."
    )
    out_critical: Threshold | None = Field(
        default=None, description="Like out_warning, for CRITICAL."
    )
    errors_warning: Threshold | None = Field(
        default=None, description="Range on errors per second (in + out)."
    )
    errors_critical: Threshold | None = Field(
        default=None, description="Like errors_warning, for CRITICAL."
    )
    down_state: State = Field(
        default=CRITICAL,
        description="State when the interface is not up while admin-up (admin-down is OK).",
    )


class SnmpInterfaceProbe(SnmpProbeBase):
    type = "snmp-interface"
    Options = SnmpInterfaceOptions

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self.counters = CounterMemory(clock=self.clock)

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        session = self.session(options, timeout)
        wanted = options.get("interface")
        if wanted is None or str(wanted).strip() == "":
            raise OptionError("snmp-interface: `interface` (ifIndex or name) is required")
        limits = {k: ranges(options, k + "_") for k in ("in", "out", "errors")}
        try:
            async with asyncio.timeout(session.budget):
                index = await self._index(session, str(wanted).strip())
                if index is None:
                    host = session.target.host
                    return ProbeOutcome(UNKNOWN, f"IF UNKNOWN - no interface {wanted!r} on {host}")
                oids = [f"{oid}.{index}" for oid in FIELDS.values()]
                got = dict(zip(FIELDS, (await session.get(oids)).values(), strict=True))
        except (SnmpError, TimeoutError) as exc:
            return session.failure("IF", exc)
        if got["oper"].missing:
            return ProbeOutcome(UNKNOWN, f"IF UNKNOWN - interface {index} has no ifOperStatus")
        return self._judge(index, got, session.key, limits, options)

    async def _index(self, session: Session, wanted: str) -> str | None:
        if wanted.isdigit():
            return wanted
        table = await session.walk([IF_NAME, IF_DESCR], max_rows=5000)
        for column in (IF_NAME, IF_DESCR):
            for index, value in table[column].items():
                if decode_text(value.octets) == wanted:
                    return index
        return None

    def _judge(
        self,
        index: str,
        got: Mapping[str, SnmpValue],
        key: tuple[Any, ...],
        limits: Mapping[str, Any],
        options: Mapping[str, Any],
    ) -> ProbeOutcome:
        name = _text(got["name"]) or _text(got["descr"]) or f"ifIndex {index}"
        oper = OPER.get(got["oper"].number or 0, str(got["oper"].value))
        admin_up = got["admin"].number in (None, 1)
        state = OK
        if oper != "up" and admin_up:
            state = int(options.get("down_state", CRITICAL))
        parts = [f"{name} {oper}" + ("" if admin_up else " (admin down)")]
        perf: list[PerfDatum] = []
        states = [state]
        rates: dict[str, float] = {}
        for label, counter in (("in", "in64"), ("out", "out64")):
            value = got[counter] if not got[counter].missing else got[counter.replace("64", "32")]
            if value.number is None:
                continue
            rate = self.counters.rate((*key, index, label), value.number, value.kind)
            if rate.per_second is None:
                parts.append(f"{label} {value.number} octets ({rate.note})")
                continue
            rates[label] = bits = rate.per_second * 8
            warn, crit = limits[label]
            st = evaluate(bits, warn, crit) if warn or crit else OK
            states.append(st)
            parts.append(f"{label} {_bps(bits)}" + (f" ({LABELS[st]})" if st else ""))
            perf.append(PerfDatum(f"{label}_bps", round(bits, 1), "", _rt(warn), _rt(crit), 0.0))
        errors = [n for k in ("in_errors", "out_errors") if (n := got[k].number) is not None]
        if errors:
            rate = self.counters.rate((*key, index, "errors"), sum(errors), "counter64")
            if rate.per_second is not None:
                warn, crit = limits["errors"]
                st = evaluate(rate.per_second, warn, crit) if warn or crit else OK
                states.append(st)
                parts.append(f"errors {rate.per_second:.2f}/s" + (f" ({LABELS[st]})" if st else ""))
                perf.append(
                    PerfDatum(
                        "errors_per_s", round(rate.per_second, 3), "", _rt(warn), _rt(crit), 0.0
                    )
                )
            else:
                parts.append(f"errors {sum(errors)}")
        worst = CRITICAL if CRITICAL in states else max(states)
        speed = _speed(got)
        long_output = f"ifIndex {index}, speed {_bps(speed)}" if speed else f"ifIndex {index}"
        return ProbeOutcome(
            worst, f"IF {LABELS[worst]} - " + ", ".join(parts), long_output, tuple(perf)
        )


def _text(value: SnmpValue) -> str:
    return "" if value.missing else decode_text(value.octets)


def _speed(got: Mapping[str, SnmpValue]) -> float:
    high = got["high_speed"].number
    if high:
        return high * 1_000_000.0
    return float(got["speed"].number or 0)


def _bps(bits: float) -> str:
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= size:
            return f"{bits / size:.2f} {unit}"
    return f"{bits:.0f} bit/s"
