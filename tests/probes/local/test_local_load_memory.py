"""`load` and `memory`: figures from the kernel, thresholds, the same state as check_load."""

from __future__ import annotations

import os
import subprocess

import pytest
from local_probe_helpers import job, need

from augenmass.probes.local import LoadProbe, MemoryProbe, parse_meminfo
from augenmass.runner import Runner

CHECK_LOAD = "/usr/lib/nagios/plugins/check_load"
HAVE_CHECK_LOAD = os.path.exists(CHECK_LOAD)


def check_load(warn: str, crit: str, per_cpu: bool) -> int:
    argv = [CHECK_LOAD, "-w", warn, "-c", crit, *(["-r"] if per_cpu else [])]
    return subprocess.run(argv, capture_output=True, timeout=20).returncode


@pytest.mark.parametrize("per_cpu", [False, True])
async def test_same_state_as_check_load(per_cpu: bool) -> None:
    need(HAVE_CHECK_LOAD, "monitoring-plugins (check_load) not installed")
    load1, load5, load15 = os.getloadavg()
    cpus = os.sysconf("SC_NPROCESSORS_ONLN") if per_cpu else 1
    l1, l5, l15 = load1 / cpus, load5 / cpus, load15 / cpus
    # check_load refuses warning > critical (UNKNOWN), so every pair keeps warning <= critical.
    # Pairs below the averages and well above; the load moves, so compare only when
    # check_load gave the same answer before and after our run
    cases = [
        (f"{l1 / 2:.2f},{l5 / 2:.2f},{l15 / 2:.2f}", "100,100,100"),
        ("100,100,100", "200,200,200"),
        (f"{l1 / 4:.2f},100,100", f"{l1 / 2:.2f},100,100"),
        ("100,0,100", "200,100,200"),
    ]
    compared = 0
    for warn, crit in cases:
        before = check_load(warn, crit, per_cpu)
        w1, w5, w15 = warn.split(",")
        c1, c5, c15 = crit.split(",")
        options = {
            "load1_warning": w1,
            "load5_warning": w5,
            "load15_warning": w15,
            "load1_critical": c1,
            "load5_critical": c5,
            "load15_critical": c15,
            "per_cpu": per_cpu,
        }
        ours = await LoadProbe().run(options, 5.0)
        if before == check_load(warn, crit, per_cpu):
            assert ours.status == before, (warn, crit, ours.output)
            compared += 1
    assert compared >= 2


async def test_load_output_and_perfdata() -> None:
    got = await LoadProbe().run({"warning": "1000", "critical": "2000"}, 5.0)
    assert got.status == 0
    assert got.output.startswith("LOAD OK - load average: ")
    assert [(p.label, p.warn, p.crit) for p in got.perfdata] == [
        ("load1", "1000", "2000"),
        ("load5", "1000", "2000"),
        ("load15", "1000", "2000"),
    ]
    per_cpu = await LoadProbe().run({"per_cpu": True}, 5.0)
    assert f"per CPU ({os.sysconf('SC_NPROCESSORS_ONLN')} CPUs)" in per_cpu.output


async def test_specific_average_overrides_the_common_range() -> None:
    # every average is >= 0, so "@0:1000" alerts on all three, unless one is overridden
    got = await LoadProbe().run({"critical": "@0:1000", "load15_critical": "1000"}, 5.0)
    assert got.status == 2
    assert [p.crit for p in got.perfdata] == ["@0:1000", "@0:1000", "1000"]


def read_meminfo() -> dict[str, int]:
    with open("/proc/meminfo") as handle:
        return parse_meminfo(handle.read())


def test_meminfo_parsing() -> None:
    info = parse_meminfo("MemTotal:  1000 kB\nMemAvailable: 250 kB\nHugePages_Total: 3\nbad\n")
    assert info == {"MemTotal": 1024000, "MemAvailable": 256000, "HugePages_Total": 3}


async def test_memory_figures_match_the_kernel() -> None:
    info = read_meminfo()
    got = await MemoryProbe().run({}, 5.0)
    perf = {p.label: p for p in got.perfdata}
    expected = 100 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]
    assert abs(perf["mem_used"].value - expected) < 5  # a moving target, but not by much
    assert perf["mem_available"].max == info["MemTotal"]
    assert (perf["mem_used"].warn, perf["mem_used"].crit) == ("90", "95")
    assert ("swap_used" in perf) == (info.get("SwapTotal", 0) > 0)
    assert got.output.startswith("MEMORY ")


@pytest.mark.parametrize(
    ("options", "state"),
    [
        ({"used_warning": "@0:100"}, 1),  # any figure is inside 0..100
        ({"used_critical": "@0:100"}, 2),
        ({"available_warning": "100000000:"}, 1),  # MiB: nobody has 95 TiB available
        ({"available_critical": "1:"}, 0),
        ({"used_warning": None, "used_critical": None}, 0),
    ],
)
async def test_memory_thresholds(options: dict[str, object], state: int) -> None:
    got = await MemoryProbe().run(options, 5.0)
    assert got.status == state, got.output


async def test_load_and_memory_through_the_runner(runner: Runner) -> None:
    load = await runner.run(job("load", {"warning": "1000"}))
    assert load.status == 0 and load.output.startswith("LOAD OK")
    memory = await runner.run(job("memory", {"used_warning": "$ARG1$"}, macros={"ARG1": "@0:100"}))
    assert memory.status == 1 and memory.output.startswith("MEMORY WARNING")
    bad = await runner.run(job("load", {"per_cpu": "sometimes"}))
    assert bad.status == 3 and "per_cpu must be true or false" in bad.output
