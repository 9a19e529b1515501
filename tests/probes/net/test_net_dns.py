"""The `dns` probe against a real DNS server on 127.0.0.1 (UDP and TCP), and against check_dig."""

from __future__ import annotations

import shutil
import socket
from typing import Any

import pytest
from net_helpers import job, need_program, plugin_state
from net_servers import DnsUdp

from augenmass.runner import Runner


def dns(port: int, name: str, **options: Any) -> dict[str, Any]:
    return {"port": port, "name": name, **options}


async def test_a_record_through_the_runner(runner: Runner, dns_server: tuple[int, DnsUdp]) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "www.example.test"), timeout=3))
    assert result.status == 0, result.output
    assert result.output.startswith("DNS OK - ")
    assert "www.example.test A: 192.0.2.10, 192.0.2.11" in result.output
    (time_,) = result.perfdata
    assert (time_.label, time_.uom, time_.min, time_.max) == ("time", "s", 0.0, 3.0)
    assert time_.value is not None and 0 < time_.value < 3


@pytest.mark.parametrize(
    ("name", "rtype", "expect"),
    [
        ("www.example.test", "AAAA", ["2001:DB8:0::10"]),
        ("example.test", "MX", ["10 mail.example.test", "20 BACKUP.example.test."]),
        ("example.test", "NS", ["ns1.example.test"]),
        ("example.test", "TXT", ["v=spf1 -all"]),
        ("alias.example.test", "CNAME", ["www.example.test"]),
        ("_sip._udp.example.test", "SRV", ["10 60 5060 pbx.example.test"]),
        ("10.2.0.192.in-addr.arpa", "PTR", ["www.example.test"]),
        ("alias.example.test", "A", ["192.0.2.10"]),
    ],
)
async def test_record_types_with_expected_answers(
    runner: Runner, dns_server: tuple[int, DnsUdp], name: str, rtype: str, expect: list[str]
) -> None:
    port, _ = dns_server
    options = dns(port, name, record_type=rtype, expect=expect)
    result = await runner.run(job("dns", options))
    assert result.status == 0, result.output


async def test_expected_answers_all_or_any(runner: Runner, dns_server: tuple[int, DnsUdp]) -> None:
    port, _ = dns_server
    expect = ["192.0.2.10", "192.0.2.99"]
    every = await runner.run(job("dns", dns(port, "www.example.test", expect=expect)))
    anyone = await runner.run(
        job("dns", dns(port, "www.example.test", expect=expect, expect_match="any"))
    )
    strict = await runner.run(
        job("dns", dns(port, "www.example.test", expect=expect, mismatch_state="critical"))
    )
    assert every.status == 1
    assert "expected 192.0.2.99 not in the answer (192.0.2.10, 192.0.2.11)" in every.output
    assert anyone.status == 0
    assert strict.status == 2 and strict.output.startswith("DNS CRITICAL - ")


async def test_nxdomain_servfail_and_expected_rcode(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    nx = await runner.run(job("dns", dns(port, "nope.example.test")))
    fail = await runner.run(job("dns", dns(port, "servfail.example.test")))
    wanted = await runner.run(job("dns", dns(port, "nope.example.test", rcode="NXDOMAIN")))
    assert nx.status == 2
    assert "server answered NXDOMAIN for nope.example.test A" in nx.output
    assert fail.status == 2
    assert "server answered SERVFAIL for servfail.example.test A" in fail.output
    assert wanted.status == 0, wanted.output


async def test_timeout_is_critical_with_the_reason(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "silent.example.test"), timeout=0.4))
    assert result.status == 2
    assert result.output == (
        f"DNS CRITICAL - no answer within 0.4 s for silent.example.test A at 127.0.0.1 port {port}"
    )


async def test_garbage_answer_is_critical(runner: Runner, dns_server: tuple[int, DnsUdp]) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "garbage.example.test"), timeout=2))
    assert result.status == 2
    assert "malformed answer for garbage.example.test A" in result.output


async def test_answer_with_the_wrong_id_is_not_taken(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "wrongid.example.test"), timeout=2))
    assert result.status == 2
    assert "malformed answer" in result.output or "no answer" in result.output


async def test_truncated_answer_falls_back_to_tcp_and_is_capped(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "big.example.test", record_type="TXT")))
    assert result.status == 0, result.output
    assert "and 297 more" in result.output
    lines = result.long_output.splitlines()
    assert len(lines) == 21 and lines[-1] == "… 280 more records"


async def test_tcp_transport(runner: Runner, dns_server: tuple[int, DnsUdp]) -> None:
    port, server = dns_server
    result = await runner.run(job("dns", dns(port, "www.example.test", transport="tcp")))
    assert result.status == 0, result.output
    assert server.queries == 0  # nothing went over UDP


async def test_no_record_of_that_type_is_a_warning(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "www.example.test", record_type="MX")))
    assert result.status == 1
    assert "no MX record for www.example.test" in result.output


async def test_response_time_thresholds(runner: Runner, dns_server: tuple[int, DnsUdp]) -> None:
    port, _ = dns_server
    base = dns(port, "www.example.test")
    crit = await runner.run(job("dns", {**base, "critical": "0.000000001"}))
    warn = await runner.run(job("dns", {**base, "warning": "0.000000001", "critical": "9"}))
    fine = await runner.run(job("dns", {**base, "warning": "8", "critical": "9"}))
    assert (crit.status, warn.status, fine.status) == (2, 1, 0)
    assert (fine.perfdata[0].warn, fine.perfdata[0].crit) == ("8", "9")


async def test_addresses_in_answers_are_not_stored(
    runner: Runner, dns_server: tuple[int, DnsUdp]
) -> None:
    port, _ = dns_server
    result = await runner.run(job("dns", dns(port, "example.test", record_type="TXT")))
    assert result.status == 0
    assert "alice-sentinel" not in result.output + result.long_output
    assert "contact <redacted>" in result.long_output


async def test_refused_port_is_critical(runner: Runner) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await runner.run(job("dns", dns(port, "www.example.test"), timeout=1))
    assert result.status == 2
    assert result.output.startswith("DNS CRITICAL - ")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"name": "x", "record_type": "XYZ"}, "record_type must be one of A, AAAA"),
        ({"port": 53}, "no name to look up"),
        ({"name": "x", "rcode": "FINE"}, "rcode must be one of"),
        ({"name": "x", "transport": "pigeon"}, "transport must be one of udp, tcp"),
        ({"name": "x", "warning": "abc"}, "Range format incorrect"),
        ({"name": "a..b"}, "not a valid DNS name"),
        ({"name": "x", "server": ""}, "no server"),
    ],
)
async def test_bad_options(runner: Runner, options: dict[str, Any], text: str) -> None:
    result = await runner.run(job("dns", options))
    assert result.status == 3
    assert result.output.startswith("bad check options: dns: "), result.output
    assert text in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "expect", "dig_args"),
    [
        ("www.example.test", None, []),
        ("www.example.test", "192.0.2.11", ["-a", "192.0.2.11"]),
        ("www.example.test", "192.0.2.99", ["-a", "192.0.2.99"]),
        ("silent.example.test", None, []),
    ],
)
async def test_same_state_as_check_dig(
    runner: Runner,
    dns_server: tuple[int, DnsUdp],
    name: str,
    expect: str | None,
    dig_args: list[str],
) -> None:
    need_program(shutil.which("dig") or "/usr/bin/dig", "bind9-dnsutils")  # check_dig runs dig
    port, _ = dns_server
    options = dns(port, name, expect=[expect] if expect else None)
    ours = await runner.run(job("dns", options, timeout=2))
    code, line = await plugin_state(
        "check_dig", "-H", "127.0.0.1", "-p", str(port), "-l", name, "-t", "2", *dig_args
    )
    assert ours.status == code, (ours.output, line)
