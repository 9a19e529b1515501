"""The SNMP probes read time only from the clock they are given: counter rates are per second of
that clock (a fake one here, so no test waits for real seconds to pass)."""

from __future__ import annotations

from typing import Any

from fakeclock import FakeClock

from augenmass.probes.snmp.generic import SnmpProbe
from augenmass.probes.snmp.interface import SnmpInterfaceProbe

STILL = "1.3.6.1.2.1.2.2.1.10.3"  # ifInOctets of wlan0 in the recording: a Counter32 that stays 0


async def test_counter_rates_follow_the_given_clock(snmp_agent: Any) -> None:
    clock = FakeClock()
    probe = SnmpProbe(clock=clock)
    options = snmp_agent.options("own-interface-counting", oid=STILL, label="in", rate=True)
    try:
        first = await probe.run(options, 3.0)
        assert first.output == "SNMP OK - in: counter 0, no rate yet (first sample)"
        # real time passed between the runs, the probe's clock did not
        second = await probe.run(options, 3.0)
        assert "no time passed since the last sample" in second.output
        await clock.advance(10.0)
        third = await probe.run(options, 3.0)
        assert third.output == "SNMP OK - in 0/s"
    finally:
        probe.client.close()


async def test_interface_rates_follow_the_given_clock(snmp_agent: Any) -> None:
    clock = FakeClock()
    probe = SnmpInterfaceProbe(clock=clock)
    options = snmp_agent.options("own-interface-counting", interface="3")
    try:
        await probe.run(options, 3.0)
        again = await probe.run(options, 3.0)
        assert "in 0 octets (no rate (no time passed since the last sample))" in again.output
        await clock.advance(10.0)
        later = await probe.run(options, 3.0)
        assert {p.label: p.value for p in later.perfdata}["in_bps"] == 0.0
    finally:
        probe.client.close()
