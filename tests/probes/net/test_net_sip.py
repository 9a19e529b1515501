"""The `sip` probe: OPTIONS over UDP and TCP against responders on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from net_helpers import SipFactory, job
from net_servers import SipBehaviour, sip_reply

from augenmass.probes.sip import build_request, parse_response
from augenmass.runner import Runner


def answer(code: int, reason: str = "OK") -> SipBehaviour:
    return lambda request: [sip_reply(request, code, reason)]


def sip(port: int, **options: Any) -> dict[str, Any]:
    return {"port": port, **options}


async def test_ok_through_the_runner(runner: Runner, sip_udp: SipFactory) -> None:
    port, server = await sip_udp(answer(200))
    result = await runner.run(job("sip", sip(port), timeout=3))
    assert result.status == 0, result.output
    assert result.output.startswith("SIP OK - 200 OK in ")
    assert result.output.endswith(f"s from 127.0.0.1 port {port}/udp")
    time_, retransmits = result.perfdata
    assert (time_.label, time_.uom, time_.max) == ("time", "s", 3.0)
    assert (retransmits.label, retransmits.value) == ("retransmits", 0.0)
    (request,) = server.requests
    text = request.decode()
    assert text.startswith("OPTIONS sip:127.0.0.1 SIP/2.0\r\n")
    assert ";branch=z9hG4bK" in text and "Max-Forwards: 70\r\n" in text
    assert text.endswith("Content-Length: 0\r\n\r\n")


async def test_any_final_answer_means_alive_and_nothing_of_it_is_kept(
    runner: Runner, sip_udp: SipFactory
) -> None:
    port, _ = await sip_udp(answer(486, "Busy Here for sip:bob-sentinel@example.test"))
    result = await runner.run(job("sip", sip(port, uri="sip:100@127.0.0.1")))
    assert result.status == 0
    assert "486 Busy Here in" in result.output
    everything = repr(result)
    assert "sentinel" not in everything and "pbx.example.test" not in everything


async def test_expect_codes(runner: Runner, sip_udp: SipFactory) -> None:
    port, _ = await sip_udp(answer(403, "Forbidden"))
    warn = await runner.run(job("sip", sip(port, expect_codes=[200])))
    crit = await runner.run(
        job("sip", sip(port, expect_codes=[200, 202], mismatch_state="critical"))
    )
    fine = await runner.run(job("sip", sip(port, expect_codes=[403])))
    assert warn.status == 1
    assert warn.output.startswith("SIP WARNING - received 403 Forbidden but 200 was required")
    assert crit.status == 2 and "but 200 or 202 was required" in crit.output
    assert fine.status == 0


async def test_provisional_then_final(runner: Runner, sip_udp: SipFactory) -> None:
    port, _ = await sip_udp(lambda r: [sip_reply(r, 100, "Trying"), sip_reply(r, 200)])
    result = await runner.run(job("sip", sip(port)))
    assert result.status == 0 and "200 OK" in result.output


async def test_only_provisional_is_critical(runner: Runner, sip_udp: SipFactory) -> None:
    port, _ = await sip_udp(lambda r: [sip_reply(r, 100, "Trying")])
    result = await runner.run(job("sip", sip(port), timeout=0.6))
    assert result.status == 2
    assert "only a provisional 100 within 0.6 s" in result.output


@pytest.mark.slow
async def test_retransmits_follow_timer_e(runner: Runner, sip_udp: SipFactory) -> None:
    port, server = await sip_udp(lambda r: [])
    started = time.monotonic()
    result = await runner.run(job("sip", sip(port), timeout=2.0))
    assert result.status == 2
    assert result.output == (
        f"SIP CRITICAL - no answer within 2 s from 127.0.0.1 port {port}/udp (3 requests sent)"
    )
    assert time.monotonic() - started < 2.5
    # sends at 0, 0.5 and 1.5 s: one transaction, so one branch for all of them
    branches = {parse_response(b"SIP/2.0 200 OK\r\n" + r.split(b"\r\n", 1)[1]).branch
                for r in server.requests}  # fmt: skip
    assert len(server.requests) == 3 and len(branches) == 1


async def test_answer_after_a_retransmit(runner: Runner, sip_udp: SipFactory) -> None:
    seen: list[bytes] = []

    def second_only(request: bytes) -> list[bytes]:
        seen.append(request)
        return [sip_reply(request, 200)] if len(seen) == 2 else []

    port, _ = await sip_udp(second_only)
    result = await runner.run(job("sip", sip(port), timeout=3))
    assert result.status == 0, result.output
    assert result.perfdata[1].value == 1.0


async def test_garbage_is_critical_with_the_reason(runner: Runner, sip_udp: SipFactory) -> None:
    port, _ = await sip_udp(lambda r: [b"HTTP/1.1 400 Bad Request\r\n\r\nalice-sentinel@x.org"])
    result = await runner.run(job("sip", sip(port), timeout=0.6))
    assert result.status == 2
    assert result.output == (
        f"SIP CRITICAL - no valid SIP response from 127.0.0.1 port {port}/udp: "
        "no SIP/2.0 status line"
    )


async def test_answer_to_another_transaction_is_ignored(
    runner: Runner, sip_udp: SipFactory
) -> None:
    port, _ = await sip_udp(lambda r: [sip_reply(r, 200, branch="z9hG4bKsomebodyelse")])
    result = await runner.run(job("sip", sip(port), timeout=0.6))
    assert result.status == 2
    assert "no answer within 0.6 s" in result.output


async def test_closed_udp_port_is_critical(runner: Runner) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await runner.run(job("sip", sip(port), timeout=1))
    assert result.status == 2
    assert result.output == f"SIP CRITICAL - port unreachable on 127.0.0.1 port {port}/udp"


async def test_tcp_ok_and_refused(
    runner: Runner, sip_tcp: Callable[[SipBehaviour], Awaitable[int]]
) -> None:
    port = await sip_tcp(lambda r: [sip_reply(r, 100, "Trying"), sip_reply(r, 200)])
    ok = await runner.run(job("sip", sip(port, transport="tcp")))
    assert ok.status == 0, ok.output
    assert ok.output.endswith(f"from 127.0.0.1 port {port}/tcp")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    refused = await runner.run(job("sip", sip(closed, transport="tcp")))
    assert refused.status == 2 and "Connection refused" in refused.output


async def test_tcp_peer_closes_early_or_sends_garbage(
    runner: Runner, sip_tcp: Callable[[SipBehaviour], Awaitable[int]]
) -> None:
    early = await sip_tcp(lambda r: [b"SIP/2.0 200 OK\r\nVia: x"])
    junk = await sip_tcp(lambda r: [b"\xff\xfe\x00garbage\r\n\r\n"])
    first = await runner.run(job("sip", sip(early, transport="tcp")))
    second = await runner.run(job("sip", sip(junk, transport="tcp")))
    assert first.status == 2
    assert "connection closed before a complete response" in first.output
    assert second.status == 2 and "not UTF-8 text" in second.output


async def test_rtt_thresholds(runner: Runner, sip_udp: SipFactory) -> None:
    port, _ = await sip_udp(answer(200))
    crit = await runner.run(job("sip", sip(port, critical="0.000000001")))
    warn = await runner.run(job("sip", sip(port, warning="0.000000001", critical="5")))
    assert (crit.status, warn.status) == (2, 1)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"port": 5060, "transport": "sctp"}, "transport must be udp or tcp"),
        ({"port": 5060, "uri": "http://x"}, "uri must be a SIP URI"),
        ({"port": 5060, "expect_codes": [100]}, "expect_codes must be a list of SIP codes"),
        ({"port": 5060, "expect_codes": ["two"]}, "expect_codes must be a list of SIP codes"),
        ({"port": 0}, "port must be a number"),
        ({"port": 5060, "critical": "x"}, "Range format incorrect"),
    ],
)
async def test_bad_options(runner: Runner, options: dict[str, Any], text: str) -> None:
    result = await runner.run(job("sip", options))
    assert result.status == 3
    assert result.output.startswith("bad check options: sip: "), result.output
    assert text in result.output


def test_request_has_the_mandatory_headers() -> None:
    text = build_request("sip:100@192.0.2.20", "udp", ("192.0.2.5", 5062), "z9hG4bKabc").decode()
    names = [line.split(":", 1)[0] for line in text.split("\r\n")[1:] if line]
    for name in ("Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Content-Length"):
        assert name in names
    assert "Via: SIP/2.0/UDP 192.0.2.5:5062;branch=z9hG4bKabc;rport" in text
    assert "CSeq: 1 OPTIONS" in text and ";tag=" in text


@pytest.mark.parametrize(
    "data",
    [b"", b"SIP/2.0", b"SIP/2.0 99 x\r\n", b"SIP/2.0 abc OK\r\n", b"SIP/2.0 200 OK\r\nCSeq: 1\r\n"],
)
def test_parse_rejects_malformed(data: bytes) -> None:
    from augenmass.probes.sip import Malformed

    with pytest.raises(Malformed):
        parse_response(data)


async def test_ipv6_loopback(runner: Runner) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    from net_servers import SipUdp

    loop = asyncio.get_running_loop()
    try:
        transport, server = await loop.create_datagram_endpoint(
            lambda: SipUdp(lambda r: [sip_reply(r, 200)]), local_addr=("::1", 0)
        )
    except OSError:
        pytest.skip("no ::1 on this machine")
    try:
        port = transport.get_extra_info("sockname")[1]
        result = await runner.run(job("sip", {"host": "::1", "port": port}))
    finally:
        transport.close()
    assert result.status == 0, result.output
    assert server.requests[0].startswith(b"OPTIONS sip:[::1] SIP/2.0\r\n")
