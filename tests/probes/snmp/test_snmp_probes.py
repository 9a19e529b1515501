"""snmp, snmp-disk, snmp-interface against snmpsim; check_snmp parity; secrets; leaks; Runner."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from augenmass.core.plan import CheckSpec
from augenmass.core.values import CheckJob, CheckKey
from augenmass.probes import load_probe
from augenmass.probes.snmp.disk import SnmpDiskProbe
from augenmass.probes.snmp.generic import SnmpProbe
from augenmass.probes.snmp.interface import SnmpInterfaceProbe
from augenmass.probes.snmp.rate import counter_rate
from augenmass.runner import Runner

CHECK_SNMP = Path("/usr/lib/nagios/plugins/check_snmp")
HAVE_CHECK_SNMP = CHECK_SNMP.exists()
LEVEL = "1.3.6.1.2.1.43.11.1.1.9.1.1"  # xerox black toner level: 1060


@pytest.fixture
async def snmp() -> AsyncIterator[SnmpProbe]:
    p = SnmpProbe()
    yield p
    p.client.close()


@pytest.mark.parametrize(
    ("warning", "critical"),
    [
        ("1000", "2000"),
        ("2000", "3000"),
        ("1000:", "500:"),
        ("2000:", "1500:"),
        ("@1000:1100", "5000"),
        ("~:1000", "~:1050"),
    ],
)
async def test_same_state_as_check_snmp(
    warning: str, critical: str, snmp_agent: Any, snmp: SnmpProbe
) -> None:
    if not HAVE_CHECK_SNMP:
        pytest.skip("monitoring-plugins check_snmp not installed")
    ours = await snmp.run(
        snmp_agent.options("xerox", oid=LEVEL, warning=warning, critical=critical), 3.0
    )
    theirs = await asyncio.to_thread(
        subprocess.run,
        [
            str(CHECK_SNMP),
            "-H",
            snmp_agent.host,
            "-p",
            str(snmp_agent.port),
            "-P",
            "2c",
            "-C",
            "xerox",
            "-o",
            LEVEL,
            "-w",
            warning,
            "-c",
            critical,
        ],
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert ours.status == theirs.returncode, (ours.output, theirs.stdout)
    assert ours.perfdata[0].value == 1060


async def test_strings_and_missing_oid(snmp_agent: Any, snmp: SnmpProbe) -> None:
    descr = "1.3.6.1.2.1.43.11.1.1.6.1.1"
    ok = await snmp.run(snmp_agent.options("xerox", oid=descr, regex="^Black Toner"), 3.0)
    assert ok.status == 0 and "Black Toner, PN 006R01509" in ok.output
    bad = await snmp.run(snmp_agent.options("xerox", oid=descr, expect="Cyan"), 3.0)
    assert bad.status == 2 and 'expected "Cyan"' in bad.output
    missing = await snmp.run(snmp_agent.options("xerox", oid=LEVEL + "99"), 3.0)
    assert missing.status == 3 and "noSuchInstance" in missing.output


async def test_wrong_community_is_critical_within_the_timeout(
    snmp_agent: Any, snmp: SnmpProbe
) -> None:
    secret = "s3cret-community"
    started = time.monotonic()
    result = await snmp.run(snmp_agent.options(secret, oid=LEVEL, retries=1), 1.0)
    assert time.monotonic() - started < 1.5
    assert result.status == 2 and "no SNMP answer" in result.output
    assert secret not in result.output + result.long_output + repr(result)


async def test_v3_auth_priv(snmp_agent: Any, snmp: SnmpProbe) -> None:
    result = await snmp.run(snmp_agent.v3_options("xerox", oid=LEVEL, label="black"), 3.0)
    assert result.status == 0 and "black 1060" in result.output
    wrong = dict(snmp_agent.v3_options("xerox", oid=LEVEL), priv_key="wrong-priv-key")
    failed = await snmp.run(wrong, 1.0)
    assert failed.status in (2, 3)
    assert "wrong-priv-key" not in failed.output and "auth-secret" not in failed.output


async def test_disks_with_include_exclude(snmp_agent: Any) -> None:
    probe = SnmpDiskProbe()
    try:
        slack = await probe.run(snmp_agent.options("slackware"), 3.0)
        assert slack.status == 2 and "/export: 94.2 % used" in slack.output
        perf = {p.label: p.value for p in slack.perfdata}
        assert perf == {"/": 77.1, "/usr/local": 79.1, "/export": 94.2}
        box = await probe.run(snmp_agent.options("unknown-007", exclude=["/odsp/*", "/var/*"]), 3.0)
        assert {p.label for p in box.perfdata} == {"/", "/boot"}  # size-0 /sys/kernel/config gone
        beagle = await probe.run(snmp_agent.options("beagleboard", include=["/"]), 3.0)
        assert beagle.status == 0 and [(p.label, p.value) for p in beagle.perfdata] == [("/", 25.2)]
    finally:
        probe.client.close()


async def test_interface_two_runs_give_a_rate(snmp_agent: Any) -> None:
    probe = SnmpInterfaceProbe()
    try:
        first = await probe.run(snmp_agent.options("own-interface-counting", interface="eth0"), 3.0)
        assert first.status == 0 and "no rate yet" in first.output
        await asyncio.sleep(1.0)
        second = await probe.run(
            snmp_agent.options("own-interface-counting", interface="eth0", in_warning="5000"), 3.0
        )
        perf = {p.label: p.value for p in second.perfdata}
        assert 6000 < perf["in_bps"] < 10000  # the recording counts 1000 octets/s
        assert second.status == 1
        down = await probe.run(snmp_agent.options("own-interface-counting", interface="3"), 3.0)
        assert down.status == 2 and "wlan0 down" in down.output
        unifi = await probe.run(snmp_agent.options("unifi_nanohd", interface="eth0"), 3.0)
        assert unifi.status == 0 and "in 70706526374 octets" in unifi.output  # Counter64
    finally:
        probe.client.close()


def test_counter_wrap_and_reset() -> None:
    wrapped = counter_rate(2**32 - 100, 0.0, 900, 10.0, "counter32")
    assert wrapped.per_second == 100.0
    assert counter_rate(5000, 0.0, 10, 10.0, "counter64").per_second is None


@pytest.mark.slow
async def test_a_thousand_failing_checks_leak_nothing(snmp: SnmpProbe) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on `port` now: every request fails (ICMP refused or silence)
    options = {"host": "127.0.0.1", "port": port, "oid": LEVEL, "retries": 0}
    await asyncio.gather(*(snmp.run(options, 0.05) for _ in range(10)))
    await asyncio.sleep(0.3)
    fds, tasks = len(os.listdir("/proc/self/fd")), len(asyncio.all_tasks())
    await asyncio.gather(*(snmp.run(options, 0.05) for _ in range(1000)))
    await asyncio.sleep(0.3)  # let pysnmp's own request timers expire
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert len(asyncio.all_tasks()) <= tasks


@pytest.mark.parametrize(
    ("kind", "options", "words"),
    [
        ("snmp", {"community": "xerox", "oid": LEVEL}, "SNMP OK"),
        ("printer", {"community": "jetdirect_m880"}, "PRINTER WARNING - Cyan toner 16% left"),
        ("snmp-disk", {"community": "slackware"}, "DISK CRITICAL"),
        ("snmp-interface", {"community": "unifi_nanohd", "interface": "eth0"}, "IF OK"),
    ],
)
async def test_through_the_runner(
    kind: str, options: dict[str, Any], words: str, snmp_agent: Any
) -> None:
    spec = CheckSpec(
        type=kind, timeout=3.0, options={**options, "port": snmp_agent.port, "retries": 0}
    )
    job = CheckJob(
        key=CheckKey("printer1", "supplies"), check=spec, macros={"HOSTADDRESS": snmp_agent.host}
    )
    try:
        result = await Runner([]).run(job)
    finally:
        load_probe(kind).client.close()  # type: ignore[attr-defined]
    assert words in result.output, result.output
    assert options["community"] not in result.output + result.long_output
