"""Where a probe may connect: the SSRF policy shared by every network probe.

Monitored targets are internal hosts by definition (only admins write checks), so private ranges
are allowed. What is refused unless a check sets `allow_link_local: true`: link-local addresses
(169.254.0.0/16, fe80::/10), cloud metadata endpoints (169.254.169.254 of AWS, GCP and Azure,
inside link-local; fd00:ec2::254 of AWS over IPv6; 100.100.100.200 of Alibaba; 168.63.129.16, the
Azure wireserver; 192.0.0.192, Oracle Cloud's) and the unspecified address (0.0.0.0, ::), also
when written as IPv4-mapped or IPv4-compatible IPv6 or as 6to4/NAT64 wrappers around them.

The decision is always made on the RESOLVED address, right before connecting, so a name that
resolves to a metadata address (or a redirect to one) is caught as well as a literal.

Every probe that opens a connection or sends a datagram gets its address from `resolve` (or
`open_connection` here); tests/probes/test_netpolicy_boundary.py fails when a probe module calls
the resolver or connects on its own.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Endpoint = tuple[int, tuple[Any, ...]]  # (family, sockaddr) ready for sock_connect

ALLOWED_SCHEMES = frozenset({"http", "https"})

_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")
_LINK_LOCAL_V6 = ipaddress.ip_network("fe80::/10")
_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("168.63.129.16"),
        ipaddress.ip_address("192.0.0.192"),
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The target resolved only to addresses the policy refuses. The message says why."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form wraps (mapped, compatible, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = ip.packed
    if ip in _NAT64 or (packed[:12] == bytes(12) and packed[12:] != bytes(4)):
        # IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks) and NAT64
        return ipaddress.IPv4Address(packed[12:])
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is refused by default, or None when it is allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(ip.packed)
        inner = _embedded_v4(ip)
        if inner is not None:
            reason = refusal(inner)
            return None if reason is None else f"{reason} (as {ip.compressed})"
    if ip in _METADATA:
        return f"{ip} is a cloud metadata address"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip in _LINK_LOCAL_V4 or ip in _LINK_LOCAL_V6:
        return f"{ip} is link-local"
    return None


# parse_ip and _text_refusal are asked about the same few addresses on every check; memoised
# (bounded) because ipaddress parsing and hashing cost more than the rest of a check's policy.
# Bounded far above the targets of a large configuration: a name per check must not thrash.
@functools.lru_cache(maxsize=65536)
def parse_ip(text: str) -> IPAddress | None:
    """`text` as an IP address (brackets and %zone allowed), or None for a host name."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _text_refusal(text: str) -> str | None:
    """refusal() of `text` when it is an IP address (keyed by the text, which hashes cheaply)."""
    ip = parse_ip(text)
    return None if ip is None else refusal(ip)


def check_ip(ip: IPAddress, allow_link_local: bool) -> None:
    """Raise AddressRefused when the policy refuses `ip`."""
    if allow_link_local:
        return
    _raise_for(refusal(ip))


def _check_text(text: str, allow_link_local: bool) -> None:
    """check_ip for an address given as text (a name is not refused here)."""
    if not allow_link_local:
        _raise_for(_text_refusal(text))


def _raise_for(reason: str | None) -> None:
    if reason is not None:
        raise AddressRefused(f"{reason}; refused (set allow_link_local: true to allow)")


def check_scheme(scheme: str) -> None:
    if scheme.lower() not in ALLOWED_SCHEMES:
        raise AddressRefused(f"scheme {scheme or '(none)'!r} refused: only http and https")


async def resolve(
    host: str,
    port: int,
    allow_link_local: bool = False,
    family: int = socket.AF_UNSPEC,
    kind: int = socket.SOCK_STREAM,
) -> list[Endpoint]:
    """Endpoints for host:port that the policy allows, in resolver order.

    IP literals skip the resolver. Raises AddressRefused when every address is refused and
    socket.gaierror when the name does not resolve."""
    literal = parse_ip(host)
    if literal is not None:
        _check_text(host, allow_link_local)
        fam = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        if family not in (socket.AF_UNSPEC, fam):
            raise socket.gaierror(socket.EAI_ADDRFAMILY, "address family does not match")
        text = host.strip("[]")
        sockaddr: tuple[Any, ...] = (text, port) if fam == socket.AF_INET else (text, port, 0, 0)
        if fam == socket.AF_INET6 and "%" in text:
            sockaddr = socket.getaddrinfo(text, port, fam, kind)[0][4]
        return [(fam, sockaddr)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=kind)
    allowed: list[Endpoint] = []
    first_refusal = ""
    for fam, _type, _proto, _name, addr in infos:
        text = str(addr[0])
        if parse_ip(text) is None:
            continue
        try:
            _check_text(text, allow_link_local)
        except AddressRefused as exc:
            first_refusal = first_refusal or str(exc)
            continue
        allowed.append((fam, tuple(addr)))
    if not allowed:
        if first_refusal:
            raise AddressRefused(f"{host} resolves to {first_refusal}")
        raise socket.gaierror(socket.EAI_NONAME, "no usable address")
    return allowed


def peer_allowed(sock: socket.socket, allow_link_local: bool) -> None:
    """Re-check the address a connected socket really reached (defence in depth)."""
    try:
        peer = sock.getpeername()
    except OSError:
        return
    check_peer(peer, allow_link_local)


def check_peer(peer: Any, allow_link_local: bool) -> None:
    """peer_allowed for a peer address already known, e.g. a transport's `peername`
    (None when the socket could not tell)."""
    if peer:
        _check_text(str(peer[0]), allow_link_local)


async def connect_socket(
    endpoints: list[Endpoint], allow_link_local: bool
) -> tuple[socket.socket, tuple[Any, ...]]:
    """A connected non-blocking TCP socket to the first endpoint that answers (checked again
    once connected) and that endpoint's address; the last error when none does."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in endpoints:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, sockaddr)
            peer_allowed(sock, allow_link_local)
            return sock, sockaddr
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error


async def open_connection(
    host: str,
    port: int,
    allow_link_local: bool,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """asyncio.open_connection through the policy: resolve, refuse, connect, then streams
    (kwargs: ssl, server_hostname, limit)."""
    sock, _ = await connect_socket(await resolve(host, port, allow_link_local), allow_link_local)
    try:
        return await asyncio.open_connection(sock=sock, **kwargs)
    except BaseException:
        sock.close()
        raise


async def first_address(
    host: str, port: int, allow_link_local: bool, kind: int = socket.SOCK_DGRAM
) -> Endpoint:
    """The first allowed endpoint for a datagram (or single-connect) probe."""
    return (await resolve(host, port, allow_link_local, kind=kind))[0]


def flag(options: Any, name: str = "allow_link_local") -> bool:
    """The `allow_link_local` option of a probe that reads raw option mappings."""
    raw = options.get(name)
    if isinstance(raw, str):
        return raw.strip().lower() in ("true", "yes", "on", "1")
    return bool(raw)
