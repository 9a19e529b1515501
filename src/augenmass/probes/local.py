"""Checks of the machine augenmass runs on: `disk`, `load` and `memory`.

States match the Monitoring Plugins on the same machine with equivalent thresholds:
`disk` computes Use% like `df` and `check_disk` (used / (used + available), reserved blocks
counted as neither), `load` compares like `check_load` (alert when the average is above the
value; `per_cpu` divides by the online CPUs like `check_load -r`).

All thresholds are Nagios ranges: "90" alerts above 90, "512:" alerts below 512.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, ProbeBase, ProbeOutcome
from augenmass.probes.levels import LABELS, Levels, flag, levels, names, size_text, worst
from augenmass.probes.mounts import Mount, Selection, StatvfsHang, Usage, read_mounts, usage

MIB = 1024 * 1024


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# `mounts: /srv` is as clear as `mounts: [/srv]`
Patterns = Annotated[list[Text], BeforeValidator(_one_or_many)]
DISK_USED_WARNING, DISK_USED_CRITICAL = "90", "95"
MEMORY_USED_WARNING, MEMORY_USED_CRITICAL = "90", "95"


class DiskOptions(CheckModel):
    mounts: Patterns = Field(
        default=[],
        description="Mount points to check, as shell globs ('/', '/srv/*'); empty: all.",
    )
    exclude_mounts: Patterns = Field(
        default=[], description="Mount points to leave out, as shell globs."
    )
    fstypes: Patterns = Field(
        default=[],
        description="File-system types to check ('ext4', 'xfs', 'nfs*'); empty: every type "
        "except pseudo ones. Naming a pseudo type (e.g. 'tmpfs') here includes it.",
    )
    exclude_fstypes: Patterns = Field(
        default=[], description="File-system types to leave out, as shell globs."
    )
    include_pseudo: bool = Field(
        default=False,
        description="Also check pseudo file systems (proc, sysfs, tmpfs, squashfs, ...).",
    )
    used_warning: Threshold | None = Field(
        default=DISK_USED_WARNING,
        description="Range on the percent of space used (df's Use%); '90' alerts above 90 %. "
        "null switches it off.",
    )
    used_critical: Threshold | None = Field(
        default=DISK_USED_CRITICAL, description="Like used_warning, for CRITICAL."
    )
    free_warning: Threshold | None = Field(
        default=None,
        description="Range on the free space available to users, in MiB; '10240:' alerts "
        "below 10 GiB.",
    )
    free_critical: Threshold | None = Field(
        default=None, description="Like free_warning, for CRITICAL."
    )
    inodes_warning: Threshold | None = Field(
        default=None,
        description="Range on the percent of inodes used; '90' alerts above 90 %. File "
        "systems without an inode table (btrfs, vfat) are not tested.",
    )
    inodes_critical: Threshold | None = Field(
        default=None, description="Like inodes_warning, for CRITICAL."
    )


class LoadOptions(CheckModel):
    warning: Threshold | None = Field(
        default=None,
        description="Range on each of the 1, 5 and 15 minute load averages ('4' alerts "
        "above 4), unless the load1_/load5_/load15_ option of that average is set.",
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    load1_warning: Threshold | None = Field(default=None, description="Range on load1.")
    load1_critical: Threshold | None = Field(default=None, description="Range on load1.")
    load5_warning: Threshold | None = Field(default=None, description="Range on load5.")
    load5_critical: Threshold | None = Field(default=None, description="Range on load5.")
    load15_warning: Threshold | None = Field(default=None, description="Range on load15.")
    load15_critical: Threshold | None = Field(default=None, description="Range on load15.")
    per_cpu: bool = Field(
        default=False,
        description="Divide the averages by the number of online CPUs before testing "
        "(like check_load -r); perfdata then shows the per-CPU values.",
    )


class MemoryOptions(CheckModel):
    used_warning: Threshold | None = Field(
        default=MEMORY_USED_WARNING,
        description="Range on the percent of memory in use, (total − available) / total; "
        "'90' alerts above 90 %. null switches it off.",
    )
    used_critical: Threshold | None = Field(
        default=MEMORY_USED_CRITICAL, description="Like used_warning, for CRITICAL."
    )
    available_warning: Threshold | None = Field(
        default=None,
        description="Range on the memory available for new work (MemAvailable), in MiB; "
        "'512:' alerts below 512 MiB.",
    )
    available_critical: Threshold | None = Field(
        default=None, description="Like available_warning, for CRITICAL."
    )
    swap_warning: Threshold | None = Field(
        default=None,
        description="Range on the percent of swap in use; not tested when there is no swap.",
    )
    swap_critical: Threshold | None = Field(
        default=None, description="Like swap_warning, for CRITICAL."
    )


# --------------------------------------------------------------------------------------- disk


class DiskProbe(ProbeBase):
    type = "disk"
    Options = DiskOptions
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        selection = _selection(options)
        used = _default_levels(options, "used_", DISK_USED_WARNING, DISK_USED_CRITICAL, "disk")
        free = levels(options, "free_", "disk").scaled(MIB)
        inodes = levels(options, "inodes_", "disk")
        try:
            mounts = selection.pick(await asyncio.to_thread(read_mounts))
        except OSError as exc:
            return ProbeOutcome(UNKNOWN, f"DISK UNKNOWN - cannot read the mount table: {exc}")
        if not mounts:
            return ProbeOutcome(UNKNOWN, "DISK UNKNOWN - no file system matches the selection")
        # statvfs of every mount at once, so one dead NFS server costs one timeout, not many
        results = await asyncio.gather(*(_usage_or_error(m, timeout * 0.9) for m in mounts))
        reports = [
            _disk_report(m, u, used, free, inodes)
            for m, u in zip(mounts, results, strict=True)
            # like df without -a: a file system without blocks has no usage to judge
            if not (isinstance(u, Usage) and u.total <= 0)
        ]
        if not reports:
            return ProbeOutcome(UNKNOWN, "DISK UNKNOWN - no file system with blocks matches")
        return _disk_outcome(reports)


class _DiskReport:
    __slots__ = ("mount", "state", "text", "short", "perf", "used_pct")

    def __init__(
        self,
        mount: Mount,
        state: int,
        text: str,
        short: str,
        perf: tuple[PerfDatum, ...] = (),
        used_pct: float = -1.0,
    ) -> None:
        self.mount, self.state, self.text, self.short = mount, state, text, short
        self.perf, self.used_pct = perf, used_pct


def _selection(options: Mapping[str, Any]) -> Selection:
    return Selection(
        mounts=names(options, "mounts", "disk"),
        exclude_mounts=names(options, "exclude_mounts", "disk"),
        fstypes=names(options, "fstypes", "disk"),
        exclude_fstypes=names(options, "exclude_fstypes", "disk"),
        include_pseudo=flag(options, "include_pseudo", "disk", False),
    )


def _default_levels(
    options: Mapping[str, Any], prefix: str, warning: str, critical: str, probe: str
) -> Levels:
    # an absent key takes the default; an explicit null (None) switches the range off
    filled = {
        f"{prefix}warning": options.get(f"{prefix}warning", warning),
        f"{prefix}critical": options.get(f"{prefix}critical", critical),
    }
    return levels(filled, prefix, probe)


async def _usage_or_error(mount: Mount, timeout: float) -> Usage | Exception:
    try:
        return await usage(mount.path, timeout)
    except (OSError, StatvfsHang) as exc:
        return exc


def _disk_report(
    mount: Mount, got: Usage | Exception, used: Levels, free: Levels, inodes: Levels
) -> _DiskReport:
    path = mount.path
    if isinstance(got, StatvfsHang):
        return _DiskReport(mount, CRITICAL, f"{path}: {got}", f"{path} not responding")
    if isinstance(got, Exception):
        reason = getattr(got, "strerror", None) or str(got)
        return _DiskReport(mount, UNKNOWN, f"{path}: statvfs failed: {reason}", f"{path} {reason}")
    pct = got.used_pct
    states = [used.state(pct), free.state(got.avail)]
    perf = [
        used.perf(f"{path} used", round(pct, 2), "%", 0.0, 100.0),
        free.perf(f"{path} free", got.avail, "B", 0.0, got.total),
    ]
    inode_text = ""
    ipct = got.inodes_used_pct
    if ipct is not None:
        states.append(inodes.state(ipct))
        perf.append(inodes.perf(f"{path} inodes", round(ipct, 2), "%", 0.0, 100.0))
        inode_text = f", inodes {ipct:.1f}% used"
    state = worst(states)
    short = f"{path} {pct:.1f}% used ({size_text(got.avail)} free)"
    text = (
        f"{LABELS[state]}: {path} ({mount.fstype}): {pct:.1f}% used, "
        f"{size_text(got.avail)} free of {size_text(got.total)}{inode_text}"
    )
    return _DiskReport(mount, state, text, short, tuple(perf), pct)


def _disk_outcome(reports: list[_DiskReport]) -> ProbeOutcome:
    state = worst(r.state for r in reports)
    bad = [r for r in reports if r.state != OK]
    if bad:
        order = {CRITICAL: 0, 1: 1, UNKNOWN: 2}
        bad.sort(key=lambda r: (order[r.state], -r.used_pct))
        summary = ", ".join(r.short for r in bad)
    else:
        tested = [r for r in reports if r.used_pct >= 0]
        fullest = max(tested, key=lambda r: r.used_pct, default=None)
        count = f"{len(reports)} file system{'s' if len(reports) != 1 else ''}"
        summary = count if fullest is None else f"{count}, fullest {fullest.short}"
    return ProbeOutcome(
        status=state,
        output=f"DISK {LABELS[state]} - {summary}",
        long_output="\n".join(r.text for r in reports),
        perfdata=tuple(p for r in reports for p in r.perf),
    )


# --------------------------------------------------------------------------------------- load


class LoadProbe(ProbeBase):
    type = "load"
    Options = LoadOptions
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        common = levels(options, "", "load")
        per_cpu = flag(options, "per_cpu", "load", False)
        try:
            averages = os.getloadavg()
        except OSError as exc:
            return ProbeOutcome(UNKNOWN, f"LOAD UNKNOWN - cannot read the load average: {exc}")
        cpus = _online_cpus()
        if per_cpu:
            averages = (averages[0] / cpus, averages[1] / cpus, averages[2] / cpus)
        states, perf = [], []
        for minutes, value in zip((1, 5, 15), averages, strict=True):
            own = levels(options, f"load{minutes}_", "load")
            pair = Levels(own.warning or common.warning, own.critical or common.critical)
            states.append(pair.state(value))
            perf.append(pair.perf(f"load{minutes}", round(value, 3), "", 0.0))
        state = worst(states)
        what = f"load average per CPU ({cpus} CPUs)" if per_cpu else "load average"
        figures = ", ".join(f"{v:.2f}" for v in averages)
        return ProbeOutcome(
            status=state, output=f"LOAD {LABELS[state]} - {what}: {figures}", perfdata=tuple(perf)
        )


def _online_cpus() -> int:
    # check_load -r divides by the online CPUs (sysconf), not by the affinity mask
    try:
        return max(1, int(os.sysconf("SC_NPROCESSORS_ONLN")))
    except (OSError, ValueError):
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------------------------- memory


MEMINFO = "/proc/meminfo"


def parse_meminfo(text: str) -> dict[str, int]:
    """`Name: value kB` lines → bytes (values without a unit are counts, kept as they are)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not parts or not parts[0].isdigit():
            continue
        scale = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
        values[name.strip()] = int(parts[0]) * scale
    return values


def _read_meminfo() -> dict[str, int]:
    with open(MEMINFO, encoding="ascii", errors="replace") as handle:
        return parse_meminfo(handle.read())


class MemoryProbe(ProbeBase):
    type = "memory"
    Options = MemoryOptions
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        used = _default_levels(
            options, "used_", MEMORY_USED_WARNING, MEMORY_USED_CRITICAL, "memory"
        )
        avail_levels = levels(options, "available_", "memory").scaled(MIB)
        swap_levels = levels(options, "swap_", "memory")
        try:
            info = _read_meminfo()
        except OSError as exc:
            return ProbeOutcome(UNKNOWN, f"MEMORY UNKNOWN - cannot read {MEMINFO}: {exc}")
        total = info.get("MemTotal", 0)
        if total <= 0:
            return ProbeOutcome(UNKNOWN, f"MEMORY UNKNOWN - no MemTotal in {MEMINFO}")
        available = info.get("MemAvailable")
        if available is None:  # kernels before 3.14: the old estimate
            available = sum(info.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
        available = min(available, total)
        pct = 100.0 * (total - available) / total
        states = [used.state(pct), avail_levels.state(available)]
        perf = [
            used.perf("mem_used", round(pct, 2), "%", 0.0, 100.0),
            avail_levels.perf("mem_available", available, "B", 0.0, total),
        ]
        swap_total, swap_text = info.get("SwapTotal", 0), "no swap"
        if swap_total > 0:
            swap_pct = 100.0 * (swap_total - info.get("SwapFree", 0)) / swap_total
            states.append(swap_levels.state(swap_pct))
            perf.append(swap_levels.perf("swap_used", round(swap_pct, 2), "%", 0.0, 100.0))
            swap_text = f"swap {swap_pct:.1f}% used of {size_text(swap_total)}"
        state = worst(states)
        return ProbeOutcome(
            status=state,
            output=(
                f"MEMORY {LABELS[state]} - {pct:.1f}% used, {size_text(available)} available "
                f"of {size_text(total)}, {swap_text}"
            ),
            perfdata=tuple(perf),
        )
