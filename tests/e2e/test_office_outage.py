"""The office line goes down (issue: "one mail that says what happened, and nothing
misleading before or after"). Real processes: the server, snmpsim serving the real printer
and access-point recordings behind a router in a network namespace, an SMTP server counting
mails per recipient. The router "stops" when the namespace's link is cut: every device
behind it goes silent, as in the office."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from officenet import Office, office_net
from snmpagent import snmpsim

from augenmass.probes.snmp.client import Credentials, SnmpClient, SnmpError, Target
from notify.helpers import MailServer

from .helpers import ServerProcess, cli, free_port, wait_for

ROUTER, PRINTER, WLAN, PHONE1, PHONE2 = 20, 21, 22, 31, 32
BEHIND = ("office-printer", "office-wlan", "office-phone-1", "office-phone-2")
PRINTER_COMMUNITY, AP_COMMUNITY = "jetdirect_m880", "unifi_nanohd"

CONFIG = """
settings: {{max_check_spread: 1s, timezone: Europe/Berlin}}
notifications:
  smtp: {{host: 127.0.0.1, port: {smtp}, from: monitor@example.org, timeout: 5s}}
  group_wait: 2s
  group_interval: 0s
contacts:
  admin: {{email: admin@example.org, language: en}}
  office-manager: {{email: office@example.org, language: de}}
contact_groups:
  network: [admin]
  office: [office-manager]
templates:
  office-device:
    check_interval: 1m
    retry_interval: 2s
    max_check_attempts: 2
    notify: [network]
hosts:
  # no `check:`: every host is pinged (settings.default_host_check)
  office-router:
    address: {net}.{router}
    use: office-device
    check_interval: 3s
    retry_interval: 1s
  office-printer: {{address: {net}.{printer}, use: office-device, parents: [office-router]}}
  office-wlan: {{address: {net}.{wlan}, use: office-device, parents: [office-router]}}
  office-phone-1: {{address: {net}.{phone1}, use: office-device, parents: [office-router]}}
  office-phone-2: {{address: {net}.{phone2}, use: office-device, parents: [office-router]}}
services:
  - name: toner
    host: office-printer
    check_interval: 30m
    max_check_attempts: 1
    notify: [office]
    check: {{type: printer, community: {printer_community}, timeout: 3s}}
  - name: uplink
    host: office-wlan
    use: office-device
    check: {{type: snmp-interface, community: {ap_community}, interface: eth0, timeout: 3s}}
"""


def _answers(host: str) -> bool:
    async def probe() -> bool:
        client = SnmpClient()
        try:
            await client.get(
                Target(host, 161, 0.5, 0),
                Credentials("2c", PRINTER_COMMUNITY),
                ["1.3.6.1.2.1.1.1.0"],
            )
            return True
        except SnmpError:
            return False
        finally:
            client.close()

    return asyncio.run(probe())


@pytest.fixture
def office() -> Iterator[Office]:
    with office_net([ROUTER, PRINTER, WLAN, PHONE1, PHONE2]) as net:
        endpoints = [f"{net.address(n)}:161" for n in (PRINTER, WLAN)]
        with snmpsim(endpoints, lambda: _answers(net.address(PRINTER)), prefix=net.inside):
            yield net


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.accept()
    try:
        yield server
    finally:
        server.refuse()


def mails_to(smtp: MailServer, address: str) -> list[str]:
    return [m.subject + "\n" + m.text for m in smtp.received() if address in m.rcpt_tos]


@pytest.mark.timeout(300)  # a real outage: retries, settle windows, re-checks
def test_router_outage_is_one_mail_and_one_recovery_mail(
    tmp_path: Path, office: Office, smtp: MailServer
) -> None:
    config = tmp_path / "augenmass.yaml"
    config.write_text(
        CONFIG.format(
            smtp=smtp.port,
            net=office.subnet,
            router=ROUTER,
            printer=PRINTER,
            wlan=WLAN,
            phone1=PHONE1,
            phone2=PHONE2,
            printer_community=PRINTER_COMMUNITY,
            ap_community=AP_COMMUNITY,
        )
    )
    server = ServerProcess(config, tmp_path / "data").start()
    try:
        everything = ("office-router", *BEHIND, "office-printer/toner", "office-wlan/uplink")

        def settled() -> dict[str, dict[str, object]] | None:
            rows = server.status()
            done = all(rows.get(k, {}).get("state") in ("UP", "OK", "WARNING") for k in everything)
            return rows if done else None

        before = wait_for(settled, 60, "every device UP and its checks answered")
        toner_before = before["office-printer/toner"]["state"]
        if toner_before != "OK":  # the recording's toner is low: the office manager is told
            wait_for(lambda: mails_to(smtp, "office@example.org"), 30, "the toner mail")
        office_mails = len(mails_to(smtp, "office@example.org"))
        assert mails_to(smtp, "admin@example.org") == []

        # --- the office line goes down
        office.cut()
        down_at = time.monotonic()
        # the devices' next checks are a minute away, the toner's 30 min: ask for them now, as
        # if their turns came; each failure has the router asked first. The toner finds no
        # SNMP answer, which is the printer's problem, not the office manager's.
        data = str(tmp_path / "data")
        for host in BEHIND:
            cli("recheck", "--data", data, host, check=True)
        cli("recheck", "--data", data, "office-printer", "toner", check=True)

        def dark() -> bool:
            rows = server.status()
            return rows["office-router"]["state"] == "DOWN" and all(
                rows[h]["state"] == "UNREACHABLE" for h in ("office-printer", "office-wlan")
            )

        wait_for(dark, 60, "the router DOWN and the printer and AP UNREACHABLE", step=0.5)
        wait_for(
            lambda: (
                server.status()["office-printer/toner"]["state"] not in ("OK", "WARNING")
                or toner_before not in ("OK", "WARNING")
            ),
            30,
            "the toner check failing while the printer is unreachable",
        )
        wait_for(lambda: len(mails_to(smtp, "admin@example.org")) >= 1, 60, "the problem mail")
        [problem] = mails_to(smtp, "admin@example.org")
        assert "office-router" in problem and "DOWN" in problem
        for host in ("office-printer", "office-wlan"):
            assert host in problem  # named as behind the router
        # give the rest of the office time to fail and be judged (phones, their retries)
        wait_for(
            lambda: all(server.status()[h]["state"] == "UNREACHABLE" for h in BEHIND),
            60,
            "all four devices UNREACHABLE",
            step=0.5,
        )
        rows = server.status()
        assert all(rows[h]["state"] != "DOWN" for h in BEHIND)
        time.sleep(max(0.0, 12 - (time.monotonic() - down_at)))  # a settle window's worth
        assert len(mails_to(smtp, "admin@example.org")) == 1

        # --- the line is back: the devices and their checks are asked again at once
        office.mend()
        up_at = time.monotonic()
        wait_for(
            lambda: server.status()["office-router"]["state"] == "UP", 60, "the router UP", step=0.5
        )
        wait_for(
            lambda: all(server.status()[h]["state"] == "UP" for h in BEHIND),
            30,
            "everything behind the router UP again (re-checked, not after its 1 min interval)",
            step=0.5,
        )
        assert time.monotonic() - up_at < 55
        wait_for(
            lambda: server.status()["office-printer/toner"]["state"] == toner_before,
            30,
            "the toner's state as before the outage (its next check is 30 min away)",
            step=0.5,
        )
        wait_for(lambda: len(mails_to(smtp, "admin@example.org")) >= 2, 60, "the recovery mail")
        time.sleep(8)  # a settle window: nothing else is coming
        admin = mails_to(smtp, "admin@example.org")
        assert len(admin) == 2, admin
        assert "office-router" in admin[1] and "UP" in admin[1]
        assert len(mails_to(smtp, "office@example.org")) == office_mails
    finally:
        server.stop()
