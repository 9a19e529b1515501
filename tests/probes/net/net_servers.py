"""Test servers on 127.0.0.1 for the network probes: DNS (UDP + TCP), SIP (UDP + TCP),
tiny IMAP and POP3 responders. Each is an asyncio server inside the test's own loop."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# name → (type, [rdata text]); names not listed answer NXDOMAIN
ZONE: dict[str, list[tuple[str, list[str]]]] = {
    "www.example.test.": [("A", ["192.0.2.10", "192.0.2.11"]), ("AAAA", ["2001:db8::10"])],
    "example.test.": [
        ("MX", ["10 mail.example.test.", "20 backup.example.test."]),
        ("NS", ["ns1.example.test."]),
        ("TXT", ['"v=spf1 -all"', '"contact alice-sentinel@example.org"']),
        ("SOA", ["ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300"]),
    ],
    "alias.example.test.": [("CNAME", ["www.example.test."])],
    "_sip._udp.example.test.": [("SRV", ["10 60 5060 pbx.example.test."])],
    "10.2.0.192.in-addr.arpa.": [("PTR", ["www.example.test."])],
    "empty.example.test.": [("A", [])],
    "big.example.test.": [
        ("TXT", [f'"record number {i:04d} padding padding"' for i in range(300)])
    ],
}


def dns_answer(wire: bytes, max_size: int) -> bytes | None:
    """The answer to one query, or None to stay silent."""
    query = dns.message.from_wire(wire)
    question = query.question[0]
    name = question.name.to_text().lower()
    if name.startswith("silent."):
        return None
    if name.startswith("garbage."):
        return b"\x00\x01this is no dns message"
    response = dns.message.make_response(query)
    if name.startswith("servfail."):
        response.set_rcode(dns.rcode.SERVFAIL)
        return response.to_wire()
    if name.startswith("wrongid."):
        response.id = (query.id + 1) % 65536
        return response.to_wire()
    records = ZONE.get(name)
    if records is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
    wanted = dns.rdatatype.to_text(question.rdtype)
    for rdtype, texts in records:
        if texts and (rdtype == wanted or rdtype == "CNAME"):
            response.answer.append(dns.rrset.from_text_list(name, 300, "IN", rdtype, texts))
            if rdtype == "CNAME" and wanted != "CNAME":
                target = texts[0].lower()
                for t_type, t_texts in ZONE.get(target, []):
                    if t_type == wanted:
                        response.answer.append(
                            dns.rrset.from_text_list(target, 300, "IN", t_type, t_texts)
                        )
    try:
        return response.to_wire(max_size=max_size)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire()


class DnsUdp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queries += 1
        answer = dns_answer(data, 512)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


async def dns_tcp_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        for _ in range(10):
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            answer = dns_answer(await reader.readexactly(size), 65535)
            if answer is None:
                await asyncio.sleep(30)
                return
            writer.write(struct.pack("!H", len(answer)) + answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


# --- SIP -------------------------------------------------------------------------------------

SipBehaviour = Callable[[bytes], list[bytes]]


def sip_reply(request: bytes, code: int, reason: str = "OK", *, branch: str | None = None) -> bytes:
    """A response to `request` that copies Via, From, To, Call-ID and CSeq, as a phone would."""
    lines = request.decode().split("\r\n")
    keep = [
        ln for ln in lines[1:] if ln.split(":", 1)[0] in ("Via", "From", "To", "Call-ID", "CSeq")
    ]
    if branch is not None:
        keep = [
            f"Via: SIP/2.0/UDP 127.0.0.1:1;branch={branch}" if ln.startswith("Via") else ln
            for ln in keep
        ]
    head = [f"SIP/2.0 {code} {reason}", *keep]
    head.append("Contact: <sip:bob-sentinel@pbx.example.test>")
    head.append("Server: SentinelPBX alice-sentinel@example.org")
    head.append("Content-Length: 0")
    return ("\r\n".join(head) + "\r\n\r\n").encode()


class SipUdp(asyncio.DatagramProtocol):
    def __init__(self, behaviour: SipBehaviour) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None
        self.requests: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.requests.append(data)
        for reply in self.behaviour(data):
            assert self.transport is not None
            self.transport.sendto(reply, addr)


def sip_tcp_handler(
    behaviour: SipBehaviour,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            for reply in behaviour(request):
                writer.write(reply)
            await writer.drain()
            await asyncio.sleep(0.05)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


# --- IMAP / POP3 -----------------------------------------------------------------------------

MailScript = dict[str, Any]


def line_server(
    greeting: bytes | None, answer: Callable[[str], list[bytes] | None]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """A line-based responder: greet, then answer each command line; None closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if greeting is not None:
                writer.write(greeting)
                await writer.drain()
            for _ in range(50):
                line = await reader.readline()
                if not line:
                    return
                replies = answer(line.decode(errors="replace").rstrip("\r\n"))
                if replies is None:
                    return
                for reply in replies:
                    writer.write(reply)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return handle


def imap_answer(password: str, *, starttls: bool = False) -> Callable[[str], list[bytes] | None]:
    def answer(line: str) -> list[bytes] | None:
        tag, _, rest = line.partition(" ")
        command = rest.split(" ", 1)[0].upper()
        if command == "CAPABILITY":
            caps = "IMAP4rev1 AUTH=PLAIN" + (" STARTTLS" if starttls else "")
            return [f"* CAPABILITY {caps}\r\n".encode(), f"{tag} OK done\r\n".encode()]
        if command == "STARTTLS":
            return [f"{tag} NO STARTTLS is switched off today\r\n".encode()]
        if command == "LOGIN":
            if rest.endswith(f'"{password}"'):
                return [f"{tag} OK logged in\r\n".encode()]
            # a careless server that echoes what it got, address and password included
            return [f"{tag} NO [AUTHENTICATIONFAILED] bad login: {rest[6:]}\r\n".encode()]
        if command == "LOGOUT":
            return [b"* BYE see you\r\n", f"{tag} OK bye\r\n".encode()]
        return [f"{tag} BAD what\r\n".encode()]

    return answer


def pop3_answer(password: str) -> Callable[[str], list[bytes] | None]:
    def answer(line: str) -> list[bytes] | None:
        command, _, arg = line.partition(" ")
        command = command.upper()
        if command == "CAPA":
            return [b"+OK list follows\r\n", b"USER\r\n", b"TOP\r\n", b".\r\n"]
        if command == "USER":
            return [b"+OK send PASS\r\n"]
        if command == "PASS":
            if arg == password:
                return [b"+OK maildrop ready\r\n"]
            return [f"-ERR [AUTH] wrong password {arg} for alice-sentinel@example.org\r\n".encode()]
        if command == "QUIT":
            return [b"+OK bye\r\n"]
        return [b"-ERR unknown command\r\n"]

    return answer
