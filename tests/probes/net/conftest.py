"""Fixtures for the network probe tests: a runner, and real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from net_helpers import SMTP_PASSWORD, SMTP_USER, SipFactory, TcpFactory
from net_servers import DnsUdp, SipBehaviour, SipUdp, dns_tcp_client, sip_tcp_handler

from augenmass.runner import Runner

NAGIOS = "/usr/lib/nagios/plugins"


@pytest.fixture
def runner() -> Runner:
    return Runner([NAGIOS])


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
async def dns_server() -> AsyncIterator[tuple[int, DnsUdp]]:
    """A DNS server on one port, UDP and TCP."""
    loop = asyncio.get_running_loop()
    tcp = await asyncio.start_server(dns_tcp_client, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            DnsUdp, local_addr=("127.0.0.1", port)
        )
    except OSError:
        tcp.close()
        pytest.skip("the UDP port next to the TCP listener is taken")
    yield port, protocol
    transport.close()
    tcp.close()
    await tcp.wait_closed()


@pytest.fixture
async def sip_udp() -> AsyncIterator[SipFactory]:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    async def start(behaviour: SipBehaviour) -> tuple[int, SipUdp]:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: SipUdp(behaviour), local_addr=("127.0.0.1", 0)
        )
        transports.append(transport)
        return transport.get_extra_info("sockname")[1], protocol

    yield start
    for transport in transports:
        transport.close()


@pytest.fixture
async def tcp_server() -> AsyncIterator[TcpFactory]:
    """Start any stream handler on 127.0.0.1; returns its port."""
    servers: list[asyncio.Server] = []

    async def start(handler: Any, tls: ssl.SSLContext | None = None) -> int:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
    for server in servers:
        await server.wait_closed()


@pytest.fixture
def sip_tcp(tcp_server: TcpFactory) -> Callable[[SipBehaviour], Awaitable[int]]:
    async def start(behaviour: SipBehaviour) -> int:
        return await tcp_server(sip_tcp_handler(behaviour))

    return start


@pytest.fixture
async def smtp_server(
    server_tls: ssl.SSLContext, tcp_server: TcpFactory
) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """aiosmtpd with STARTTLS and AUTH on 127.0.0.1; the banner carries a sentinel address."""
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        return AuthResult(success=good, handled=False)

    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []

    async def start(
        *, starttls: bool = True, implicit: bool = False, exclude: tuple[str, ...] = ()
    ) -> int:
        def factory() -> SMTP:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # aiosmtpd warns about AUTH without TLS
                return SMTP(
                    Handler(),
                    hostname="mail.example.test",
                    ident="ESMTP ready, postmaster alice-sentinel@example.org",
                    tls_context=server_tls if starttls and not implicit else None,
                    authenticator=authenticator,
                    auth_require_tls=False,
                    auth_exclude_mechanism=list(exclude),
                    loop=loop,
                )

        server = await loop.create_server(
            factory, "127.0.0.1", 0, ssl=server_tls if implicit else None
        )
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


class Handler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def fd_count() -> Iterator[Callable[[], int]]:
    yield open_fds


def here() -> Path:
    return Path(__file__).parent
