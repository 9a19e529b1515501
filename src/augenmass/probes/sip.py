"""`sip`: a SIP OPTIONS "ping" to a desk phone or PBX (domain.md §3).

Any final response (>= 200) proves the device's SIP stack is up, unless `expect_codes` lists the
codes that count as healthy (then another code gives `mismatch_state`, WARNING by default). 1xx
is provisional: keep waiting. Over UDP the request is retransmitted like a SIP client (RFC 3261
§17.1.2, timer E: 0.5 s doubling up to 4 s; every 4 s after a provisional answer) until the
timeout. A response is ours only if its top Via branch and CSeq method match (§17.1.3).

Privacy: only the status code and the timing are recorded. Nothing the peer sends (reason
phrase, URIs, headers) is copied into the output; the reason phrase shown is our own.

Options: host (default $HOSTADDRESS$), port (5060), transport (udp | tcp), uri (request URI,
default sip:<host>), expect_codes (list), mismatch_state, warning / critical (round trip, s).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from augenmass.core.fields import State, Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.values import PerfDatum
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, OK, WARNING, NamedProbe, OptionError, ProbeOutcome
from augenmass.probes.netutil import (
    LABELS,
    TimeThresholds,
    budget,
    flag_option,
    host_option,
    port_option,
    state_option,
    text_option,
)
from augenmass.probes.safeopen import datagram_endpoint

T1, T2 = 0.5, 4.0
MAX_MESSAGE = 65535
REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
    301: "Moved Permanently", 302: "Moved Temporarily", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 407: "Proxy Authentication "
    "Required", 408: "Request Timeout", 420: "Bad Extension", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 483: "Too Many Hops", 484: "Address Incomplete",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 500: "Server "
    "Internal Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
}  # fmt: skip


class SipOptions(CheckModel):
    host: Text = Field(default="$HOSTADDRESS$", description="The phone or PBX.")
    port: int = Field(default=5060, ge=1, le=65535, description="Its SIP port.")
    transport: Literal["udp", "tcp"] = Field(
        default="udp", description="udp (retransmitted like a SIP client) or tcp."
    )
    uri: Text | None = Field(default=None, description="Request URI (default sip:HOST).")
    expect_codes: list[int] | None = Field(
        default=None, description="Response codes that are healthy; not set: any final response."
    )
    mismatch_state: State | None = Field(
        default=None, description="State for another response code (default warning)."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the round-trip time in seconds."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )


class Malformed(Exception):
    """The peer sent something that is not a SIP response (the reason names what, not the text)."""


@dataclass(frozen=True, slots=True)
class Response:
    code: int
    branch: str
    method: str


@dataclass(slots=True)
class _Exchange:
    code: int = 0
    sent: int = 0
    malformed: str = ""
    foreign: int = 0


class SipProbe(NamedProbe):
    type = "sip"
    Options = SipOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        host = host_option(options)
        port = port_option(options, 5060)
        transport = str(options.get("transport") or "udp").lower()
        if transport not in ("udp", "tcp"):
            raise OptionError(f"transport must be udp or tcp, not {transport!r}")
        uri = text_option(options, "uri") or f"sip:{_uri_host(host)}"
        if not uri.lower().startswith(("sip:", "sips:")) or any(c in uri for c in " \r\n"):
            raise OptionError(f"uri must be a SIP URI like sip:100@{host}")
        codes = _codes(options.get("expect_codes"))
        mismatch = state_option(options, "mismatch_state", WARNING)
        thresholds = TimeThresholds(options)
        limit = budget(options.get("timeout"), timeout)
        allow = flag_option(options, "allow_link_local", False)
        where = f"{host} port {port}/{transport}"
        exchange = _Exchange()
        started = self.clock.monotonic()
        try:
            async with asyncio.timeout(limit):
                address = await _address(host, port, transport, allow)
                if transport == "udp":
                    await _udp(address, uri, exchange)
                else:
                    await _tcp(address, allow, uri, exchange)
        except TimeoutError:
            return _no_answer(exchange, limit, where)
        except netpolicy.AddressRefused as exc:
            return _critical(str(exc))
        except socket.gaierror as exc:
            return _critical(f"cannot resolve {host}: {exc.strerror}")
        except ConnectionRefusedError:
            what = "port unreachable" if transport == "udp" else "Connection refused"
            return _critical(f"{what} on {where}")
        except Malformed as exc:
            return _critical(f"malformed reply from {where}: {exc}")
        except OSError as exc:
            return _critical(f"{exc.strerror or exc} on {where}")
        elapsed = self.clock.monotonic() - started
        perf = (
            thresholds.perf(elapsed, limit),
            PerfDatum("retransmits", float(max(0, exchange.sent - 1)), "", None, None, 0.0, None),
        )
        code = exchange.code
        answer = f"{code} {REASONS.get(code, 'response')}"
        if codes and code not in codes:
            wanted = " or ".join(str(c) for c in codes)
            text = f"SIP {LABELS[mismatch]} - received {answer} but {wanted} was required"
            return ProbeOutcome(mismatch, f"{text} ({elapsed:.3f} s, {where})", perfdata=perf)
        status = thresholds.status(elapsed)
        return ProbeOutcome(
            status,
            f"SIP {LABELS[status]} - {answer} in {elapsed:.3f} s from {where}",
            perfdata=perf,
        )


def _critical(reason: str) -> ProbeOutcome:
    return ProbeOutcome(CRITICAL, f"SIP CRITICAL - {reason}")


def _no_answer(exchange: _Exchange, limit: float, where: str) -> ProbeOutcome:
    if exchange.malformed:
        return _critical(f"no valid SIP response from {where}: {exchange.malformed}")
    tries = f"{exchange.sent} request{'s' if exchange.sent != 1 else ''}"
    if exchange.code:
        return _critical(f"only a provisional {exchange.code} within {limit:g} s from {where}")
    return _critical(f"no answer within {limit:g} s from {where} ({tries} sent)")


def _codes(raw: Any) -> tuple[int, ...]:
    if raw is None or raw == []:
        return ()
    items = [raw] if isinstance(raw, int | str) else raw
    try:
        codes = tuple(int(c) for c in items if not isinstance(c, bool))
    except (TypeError, ValueError):
        raise OptionError("expect_codes must be a list of SIP codes (200..699)") from None
    if len(codes) != len(items) or not all(200 <= c <= 699 for c in codes):
        raise OptionError("expect_codes must be a list of SIP codes (200..699)")
    return codes


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _address(
    host: str, port: int, transport: str, allow: bool
) -> tuple[int, tuple[Any, ...]]:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    return await netpolicy.first_address(host, port, allow, kind)


def build_request(uri: str, transport: str, local: tuple[Any, ...], branch: str) -> bytes:
    """An out-of-dialogue OPTIONS request (RFC 3261 §8.1.1 and §11)."""
    me = f"{_uri_host(str(local[0]))}:{local[1]}"
    tag, call = secrets.token_hex(4), secrets.token_hex(8)
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {me};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:augenmass@{me}>;tag={tag}",
        f"To: <{uri}>",
        f"Call-ID: {call}@augenmass",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:augenmass@{me}>",
        "Accept: application/sdp",
        "User-Agent: augenmass",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_response(data: bytes) -> Response:
    """Status code, top Via branch and CSeq method of a SIP response. Raises Malformed."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("not UTF-8 text") from None
    lines = text.replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0":
        raise Malformed("no SIP/2.0 status line")
    if not (parts[1].isdigit() and len(parts[1]) == 3 and 100 <= int(parts[1]) <= 699):
        raise Malformed("bad status code")
    branch = method = ""
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep:
            continue
        if name in ("via", "v") and not branch:
            branch = _branch(value)
        elif name == "cseq":
            method = value.split()[-1].upper() if value.split() else ""
    if not branch or not method:
        raise Malformed("no Via branch or CSeq")
    return Response(int(parts[1]), branch, method)


def _branch(via: str) -> str:
    top = via.split(",", 1)[0]
    for param in top.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "branch":
            return value.strip()
    return ""


def _accept(exchange: _Exchange, data: bytes, branch: str) -> bool:
    """Record one reply; True once a final response to our request is in."""
    try:
        response = parse_response(data)
    except Malformed as exc:
        exchange.malformed = str(exc)
        return False
    if response.branch != branch or response.method != "OPTIONS":
        exchange.foreign += 1  # a stray or spoofed answer to somebody else's request
        return False
    exchange.code = response.code
    return response.code >= 200


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue(maxsize=64)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.queue.full():
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if not self.queue.full():
            self.queue.put_nowait(exc)


async def _udp(address: tuple[int, tuple[Any, ...]], uri: str, exchange: _Exchange) -> None:
    family, sockaddr = address
    transport, protocol = await datagram_endpoint(
        _Datagrams, remote_addr=sockaddr[:2], family=family
    )
    try:
        branch = "z9hG4bK" + secrets.token_hex(8)
        request = build_request(uri, "udp", transport.get_extra_info("sockname"), branch)
        interval = T1
        while True:  # ends by the caller's deadline or a final response
            transport.sendto(request)
            exchange.sent += 1
            if await _await_final(protocol, exchange, branch, interval):
                return
            interval = T2 if exchange.code else min(interval * 2, T2)
    finally:
        transport.close()


async def _await_final(
    protocol: _Datagrams, exchange: _Exchange, branch: str, interval: float
) -> bool:
    """Wait up to `interval` for a final response; False when it is time to retransmit."""
    # The retransmission timer paces real packets inside the probe's deadline: real time.
    deadline = time.perf_counter() + interval
    while (left := deadline - time.perf_counter()) > 0:
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation of
            # the probe's own deadline when both expire together, and the probe runs on
            async with asyncio.timeout(left):
                item = await protocol.queue.get()
        except TimeoutError:
            return False
        if isinstance(item, Exception):
            raise item  # ICMP port unreachable arrives as ConnectionRefusedError
        if _accept(exchange, item, branch):
            return True
    return False


async def _tcp(
    address: tuple[int, tuple[Any, ...]], allow: bool, uri: str, exchange: _Exchange
) -> None:
    sock, _ = await netpolicy.connect_socket([address], allow)
    try:
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        branch = "z9hG4bK" + secrets.token_hex(8)
        writer.write(build_request(uri, "tcp", writer.get_extra_info("sockname"), branch))
        exchange.sent = 1
        await writer.drain()
        while True:  # no retransmission over TCP; provisional answers come first
            if _accept(exchange, await _read_message(reader), branch):
                return
            if exchange.malformed:
                raise Malformed(exchange.malformed)  # a stream cannot resync after garbage
    finally:
        writer.close()


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise Malformed("connection closed before a complete response") from exc
    except asyncio.LimitOverrunError as exc:
        raise Malformed("header section too long") from exc
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            try:
                length = int(value.strip())
            except ValueError:
                raise Malformed("bad Content-Length") from None
    if not 0 <= length <= MAX_MESSAGE:
        raise Malformed("bad Content-Length")
    try:
        await reader.readexactly(length)  # the body is read past, never kept
    except asyncio.IncompleteReadError as exc:
        raise Malformed("connection closed inside the body") from exc
    return head


__all__ = ["OK", "SipOptions", "SipProbe", "build_request", "parse_response"]
