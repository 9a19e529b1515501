"""`snmp-disk`: percent used of each storage in HOST-RESOURCES-MIB hrStorageTable.

used % = hrStorageUsed / hrStorageSize (both in allocation units; bytes = units × unit size).
net-snmp counts root-reserved blocks as used, so this is not `df`'s figure. Storages are picked
by type (fixed disks by default, network disks with `network: true`) and by `include` / `exclude`
shell patterns on the description (the mount point on net-snmp), e.g. exclude ["/run*", "/sys/*",
"/dev/shm"] to drop Linux tmpfs mounts. Size 0 is skipped (pseudo file systems).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field

from augenmass.core.fields import Text, Threshold
from augenmass.core.thresholds import evaluate
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, ProbeOutcome
from augenmass.probes.snmp.client import SnmpError
from augenmass.probes.snmp.generic import range_text as _range_text
from augenmass.probes.snmp.generic import ranges
from augenmass.probes.snmp.setup import LABELS, SnmpOptions, SnmpProbeBase
from augenmass.probes.snmp.text import decode_text

STORAGE = "1.3.6.1.2.1.25.2.3.1"
COLUMNS = {
    n: f"{STORAGE}.{c}"
    for n, c in (("type", 2), ("descr", 3), ("unit", 4), ("size", 5), ("used", 6))
}
FIXED_DISK = "1.3.6.1.2.1.25.2.1.4"
NETWORK_DISK = "1.3.6.1.2.1.25.2.1.10"


class SnmpDiskOptions(SnmpOptions):
    warning: Threshold | None = Field(
        default="80", description="Range on percent used of each storage ('80' alerts above 80)."
    )
    critical: Threshold | None = Field(default="90", description="Like warning, for CRITICAL.")
    include: list[Text] = Field(
        default=[],
        description="Shell patterns on the storage description (the mount point); empty: all.",
    )
    exclude: list[Text] = Field(
        default=[], description="Shell patterns of storages to leave out (e.g. /run*)."
    )
    network: bool = Field(default=False, description="Also network disks (NFS, CIFS).")


class SnmpDiskProbe(SnmpProbeBase):
    type = "snmp-disk"
    Options = SnmpDiskOptions

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        session = self.session(options, timeout)
        warn, crit = ranges({"warning": "80", "critical": "90", **options})
        include, exclude = _patterns(options.get("include")), _patterns(options.get("exclude"))
        types = {FIXED_DISK, NETWORK_DISK} if options.get("network") else {FIXED_DISK}
        try:
            async with asyncio.timeout(session.budget):
                table = await session.walk(list(COLUMNS.values()), 2000)
        except (SnmpError, TimeoutError) as exc:
            return session.failure("DISK", exc)
        col = {name: table[oid] for name, oid in COLUMNS.items()}
        states, lines, perf, alerts = [], [], [], []
        for index, kind in col["type"].items():
            descr = decode_text(col["descr"][index].octets) if index in col["descr"] else index
            if str(kind.value) not in types or not _wanted(descr, include, exclude):
                continue
            unit = col["unit"].get(index)
            size, used = col["size"].get(index), col["used"].get(index)
            if unit is None or size is None or used is None:
                continue
            units, total, taken = unit.number or 0, size.number or 0, used.number or 0
            if total <= 0 or units <= 0:
                continue
            percent = round(100.0 * taken / total, 1)
            state = evaluate(percent, warn, crit) if warn or crit else OK
            line = (
                f"{descr}: {percent:.1f} % used ({_size(taken * units)} of {_size(total * units)})"
            )
            states.append(state)
            lines.append(f"[{LABELS[state]}] {line}" if state else line)
            if state:
                alerts.append(line)
            perf.append(
                PerfDatum(descr, percent, "%", _range_text(warn), _range_text(crit), 0.0, 100.0)
            )
        if not states:
            return ProbeOutcome(
                UNKNOWN, "DISK UNKNOWN - no storage matched (type, include, exclude)"
            )
        worst = CRITICAL if CRITICAL in states else max(states)
        summary = "; ".join(alerts) if alerts else f"{len(states)} disks OK"
        return ProbeOutcome(
            worst, f"DISK {LABELS[worst]} - {summary}", "\n".join(lines), tuple(perf)
        )


def _patterns(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [str(raw)] if isinstance(raw, str) else [str(p) for p in raw]


def _wanted(descr: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatchcase(descr, p) for p in include):
        return False
    return not any(fnmatchcase(descr, p) for p in exclude)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} PiB"
