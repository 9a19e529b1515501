"""A small SNMP client over pysnmp 7 (asyncio): GET and table walks by numeric OID, no MIBs.

Why our own layer: an SnmpEngine is expensive to build (tens of CPU-ms), so one is kept per event
loop and reused by every check; MIB lookups are switched off (numeric OIDs only) because
resolving names costs more than the whole request; and every failure becomes an `SnmpError` whose
text never carries the community or the v3 keys.

pysnmp's local configuration keeps one entry per community / v3 user it has seen. v1/v2c share
one engine; each distinct v3 credential gets its own engine (pysnmp keys v3 users by name only, so
two devices with the same user name and different keys must not share one). Both kinds are
recycled when they have seen too many distinct secrets, so memory stays bounded across reloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyasn1.type import univ  # type: ignore[import-untyped]
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]
from pysnmp.proto.errind import ErrorIndication  # type: ignore[import-untyped]

from augenmass.core.clock import Clock, SystemClock
from augenmass.probes import netpolicy

AUTH_PROTOCOLS = {
    "none": _auth.usmNoAuthProtocol,
    "md5": _auth.usmHMACMD5AuthProtocol,
    "sha": _auth.usmHMACSHAAuthProtocol,
    "sha224": _auth.usmHMAC128SHA224AuthProtocol,
    "sha256": _auth.usmHMAC192SHA256AuthProtocol,
    "sha384": _auth.usmHMAC256SHA384AuthProtocol,
    "sha512": _auth.usmHMAC384SHA512AuthProtocol,
}
PRIV_PROTOCOLS = {
    "none": _auth.usmNoPrivProtocol,
    "des": _auth.usmDESPrivProtocol,
    "3des": _auth.usm3DESEDEPrivProtocol,
    "aes": _auth.usmAesCfb128Protocol,
    "aes128": _auth.usmAesCfb128Protocol,
    "aes192": _auth.usmAesCfb192Protocol,
    "aes256": _auth.usmAesCfb256Protocol,
}

MAX_VARBINDS = 60  # per response: agents (snmpsim: 64) and UDP sizes cap what one PDU can carry
MAX_SECRETS_PER_ENGINE = 256
MAX_V3_ENGINES = 16
_TARGET_TTL = 300.0  # seconds an IP-literal transport target is reused


class SnmpError(Exception):
    """A request failed. `text` is safe to show: it never holds a community or a key."""

    def __init__(self, text: str, *, no_answer: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.no_answer = no_answer  # the agent said nothing (down, wrong community, filtered)


@dataclass(frozen=True, slots=True)
class SnmpValue:
    """One decoded value. kind: integer, counter32, counter64, gauge, timeticks, octets, oid,
    ip, opaque, null, noSuchObject, noSuchInstance, endOfMibView."""

    kind: str
    value: int | bytes | str | None = None

    @property
    def missing(self) -> bool:
        return self.kind in ("noSuchObject", "noSuchInstance", "endOfMibView", "null")

    @property
    def number(self) -> int | None:
        return self.value if isinstance(self.value, int) else None

    @property
    def octets(self) -> bytes:
        if isinstance(self.value, bytes):
            return self.value
        return b"" if self.value is None else str(self.value).encode()


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int = 161
    timeout: float = 2.0  # per request, before a retry
    retries: int = 1
    allow_link_local: bool = False  # see probes/netpolicy.py


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to authenticate. repr() and str() never show a secret."""

    version: str = "2c"  # "1", "2c" or "3"
    community: str = field(default="public", repr=False)
    user: str = ""
    auth_protocol: str = "none"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "none"
    priv_key: str = field(default="", repr=False)
    context: str = ""

    @property
    def fingerprint(self) -> str:
        """A short one-way digest of everything that identifies the credential (state keys)."""
        text = "\0".join(
            (
                self.version,
                self.community,
                self.user,
                self.auth_protocol,
                self.auth_key,
                self.priv_protocol,
                self.priv_key,
                self.context,
            )
        )
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]

    def auth_data(self) -> Any:
        if self.version == "3":
            return UsmUserData(
                self.user,
                self.auth_key or None,
                self.priv_key or None,
                authProtocol=AUTH_PROTOCOLS[self.auth_protocol],
                privProtocol=PRIV_PROTOCOLS[self.priv_protocol],
            )
        mp_model = 0 if self.version == "1" else 1
        # our own index: pysnmp's default uses hash(), and a collision would swap communities
        return CommunityData("c" + self.fingerprint, self.community, mpModel=mp_model)

    def context_data(self) -> Any:
        return (
            ContextData(contextName=self.context.encode()) if self.version == "3" else ContextData()
        )


def parse_oid(text: str) -> tuple[int, ...]:
    """'1.3.6.1.2.1.1.3.0' (a leading dot allowed) → tuple; ValueError with a clear reason."""
    body = text.strip().removeprefix(".")
    try:
        parts = tuple(int(p) for p in body.split("."))
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r} (write it as 1.3.6.1...)") from None
    if len(parts) < 2 or any(p < 0 or p > 0xFFFFFFFF for p in parts) or parts[0] > 2:
        raise ValueError(f"not a valid OID: {text!r}")
    return parts


def oid_text(oid: Iterable[int]) -> str:
    return ".".join(str(p) for p in oid)


class SnmpClient:
    """GET and walk; one engine per event loop and credential family, reused across checks."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engines: OrderedDict[str, tuple[Any, set[str]]] = OrderedDict()
        self._targets: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._sockets: dict[int, _Udp] = {}

    async def get(
        self, target: Target, creds: Credentials, oids: Sequence[str]
    ) -> dict[str, SnmpValue]:
        """Values by OID text (normalised, no leading dot), in the order asked."""
        wanted = [parse_oid(o) for o in oids]
        result: dict[str, SnmpValue] = {}
        for start in range(0, len(wanted), MAX_VARBINDS):
            chunk = wanted[start : start + MAX_VARBINDS]
            got = await self._request(get_cmd, target, creds, chunk)
            for (_oid, value), asked in zip(got, chunk, strict=False):
                result[oid_text(asked)] = value
        return result

    async def walk(
        self,
        target: Target,
        creds: Credentials,
        columns: Sequence[str],
        max_rows: int = 5000,
    ) -> dict[str, dict[str, SnmpValue]]:
        """Walk table columns side by side: {column: {index suffix: value}}.

        Stops a column at its end, at endOfMibView, and at an OID that does not increase (a
        broken agent would otherwise loop us forever); at most `max_rows` rows per column."""
        prefixes = [parse_oid(c) for c in columns]
        tables: dict[str, dict[str, SnmpValue]] = {oid_text(p): {} for p in prefixes}
        cursor = {p: p for p in prefixes}
        active = list(prefixes)
        requests = 0
        while active and requests < max_rows + 1:
            requests += 1
            reps = max(1, MAX_VARBINDS // len(active))
            varbinds = await self._next_rows(target, creds, [cursor[p] for p in active], reps)
            done: set[tuple[int, ...]] = set()
            width = len(active)
            for i, (oid, value) in enumerate(varbinds):
                prefix = active[i % width]
                if prefix in done:
                    continue
                table = tables[oid_text(prefix)]
                if (
                    value.kind == "endOfMibView"
                    or oid[: len(prefix)] != prefix
                    or oid <= cursor[prefix]
                    or len(table) >= max_rows
                ):
                    done.add(prefix)
                    continue
                cursor[prefix] = oid
                table[oid_text(oid[len(prefix) :])] = value
            if not varbinds:
                break
            active = [p for p in active if p not in done]
        return tables

    async def _next_rows(
        self, target: Target, creds: Credentials, oids: list[tuple[int, ...]], reps: int
    ) -> list[tuple[tuple[int, ...], SnmpValue]]:
        if creds.version == "1":
            return await self._request(next_cmd, target, creds, oids)
        return await self._request(bulk_cmd, target, creds, oids, bulk=(0, reps))

    async def _request(
        self,
        command: Any,
        target: Target,
        creds: Credentials,
        oids: list[tuple[int, ...]],
        bulk: tuple[int, int] | None = None,
    ) -> list[tuple[tuple[int, ...], SnmpValue]]:
        if creds.version == "2c":
            return await self._request_v2c(target, creds, oids, bulk)
        engine = self._engine(creds)
        transport = await self._transport(target)
        varbinds = [ObjectType(ObjectIdentity(o)) for o in oids]
        args: list[Any] = [engine, creds.auth_data(), transport, creds.context_data()]
        if bulk is not None:
            args.extend(bulk)
        try:
            indication, status, index, answer = await command(*args, *varbinds, lookupMib=False)
        except Exception as exc:  # pysnmp raises for local problems (bad key length, no cipher)
            raise SnmpError(f"SNMP request not sent: {_safe_error(exc, creds)}") from None
        if indication:
            raise _indication_error(indication, target, creds)
        if status:
            raise SnmpError(_status_text(status, index, oids))
        return [(tuple(name), decode(value)) for name, value in answer]

    async def _request_v2c(
        self,
        target: Target,
        creds: Credentials,
        oids: list[tuple[int, ...]],
        bulk: tuple[int, int] | None,
    ) -> list[tuple[tuple[int, ...], SnmpValue]]:
        """GET / GETBULK with our own codec and socket (see _Udp): no pysnmp on this path."""
        loop = self._bind_loop()
        addr, family = await self._address(target)
        udp = await self._socket(loop, family)
        pdu, a, b = (_GETBULK, *bulk) if bulk is not None else (_GET, 0, 0)
        community = creds.community.encode("utf-8", "surrogateescape")
        for _ in range(target.retries + 1):
            request_id = random.randrange(1, 0x7FFFFFFF)
            while request_id in udp.waiting:
                request_id = random.randrange(1, 0x7FFFFFFF)
            packet = encode_request(community, request_id, pdu, oids, a, b)
            future: asyncio.Future[Any] = loop.create_future()
            udp.waiting[request_id] = (addr, future)
            try:
                udp.sendto(packet, addr)
                async with asyncio.timeout(target.timeout):
                    _rid, status, index, varbinds = await future
            except TimeoutError:
                continue
            except OSError as exc:
                raise SnmpError(f"SNMP request not sent: {_safe_error(exc, creds)}") from None
            finally:
                udp.waiting.pop(request_id, None)
            if status:
                name = _STATUS_NAMES[status] if 0 <= status < len(_STATUS_NAMES) else status
                raise SnmpError(_status_text(name, index, oids))
            return varbinds  # type: ignore[no-any-return]
        where = f"{target.host}:{target.port}"
        raise SnmpError(
            f"no SNMP answer from {where} ({target.retries + 1} tries, {target.timeout:g} s "
            "each; host down, SNMP off, filtered, or wrong community)",
            no_answer=True,
        )

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()  # engines and sockets are bound to the loop they were built in
            self._loop = loop
        return loop

    async def _address(self, target: Target) -> tuple[tuple[Any, ...], int]:
        try:
            family, sockaddr = await netpolicy.first_address(
                target.host, target.port, target.allow_link_local, socket.SOCK_DGRAM
            )
        except netpolicy.AddressRefused as exc:
            raise SnmpError(str(exc)) from None
        except (OSError, UnicodeError):
            raise SnmpError(f"cannot resolve {target.host}") from None
        return tuple(sockaddr), int(family)

    async def _socket(self, loop: asyncio.AbstractEventLoop, family: int) -> _Udp:
        udp = self._sockets.get(family)
        if udp is None or udp.sock.fileno() < 0:
            try:
                udp = _Udp(loop, family)
            except OSError as exc:
                raise SnmpError(f"SNMP request not sent: {exc}") from None
            self._sockets[family] = udp
        return udp

    def _engine(self, creds: Credentials) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()  # engines are bound to the loop they were built in
            self._loop = loop
        key = "v1v2c" if creds.version != "3" else "v3:" + creds.fingerprint
        entry = self._engines.get(key)
        seen = entry[1] if entry is not None else set()
        if creds.fingerprint not in seen and len(seen) >= MAX_SECRETS_PER_ENGINE:
            self._drop(key)
            entry = None
        if entry is None:
            v3_keys = [k for k in self._engines if k.startswith("v3:")]
            if key.startswith("v3:") and len(v3_keys) >= MAX_V3_ENGINES:
                self._drop(v3_keys[0])
            entry = self._engines[key] = (SnmpEngine(), set())
        self._engines.move_to_end(key)
        entry[1].add(creds.fingerprint)
        return entry[0]

    async def _transport(self, target: Target) -> Any:
        key = (target.host, target.port, target.timeout, target.retries, target.allow_link_local)
        now = self.clock.monotonic()
        cached = self._targets.get(key)
        if cached is not None and now - cached[0] < _TARGET_TTL:
            return cached[1]
        # pysnmp gets the address the policy allowed, never the name: it would resolve on its own
        sockaddr, family = await self._address(target)
        kind = Udp6TransportTarget if family == socket.AF_INET6 else UdpTransportTarget
        try:
            transport = await kind.create(
                (str(sockaddr[0]), target.port), timeout=target.timeout, retries=target.retries
            )
        except Exception:
            raise SnmpError(f"cannot resolve {target.host}") from None
        if netpolicy.parse_ip(target.host) is not None:  # names are resolved again next time
            if len(self._targets) > 4096:
                self._targets.clear()
            self._targets[key] = (now, transport)
        return transport

    def _drop(self, key: str) -> None:
        engine, _ = self._engines.pop(key)
        _close_engine(engine)

    def close(self) -> None:
        """Release sockets and timers (idempotent)."""
        for key in list(self._engines):
            self._drop(key)
        self._targets.clear()
        for udp in self._sockets.values():
            udp.close()
        self._sockets.clear()


def _close_engine(engine: Any) -> None:
    try:
        engine.close_dispatcher()
    except Exception:  # the loop it belonged to may be closed already; the socket goes anyway
        pass


def decode(value: Any) -> SnmpValue:
    """pysnmp value → SnmpValue (checks from the most specific type to the least)."""
    if isinstance(value, rfc1905.NoSuchObject):
        return SnmpValue("noSuchObject")
    if isinstance(value, rfc1905.NoSuchInstance):
        return SnmpValue("noSuchInstance")
    if isinstance(value, rfc1905.EndOfMibView):
        return SnmpValue("endOfMibView")
    for cls, kind in _NUMERIC:
        if isinstance(value, cls):
            return SnmpValue(kind, int(value))
    if isinstance(value, rfc1902.IpAddress):
        return SnmpValue("ip", ".".join(str(b) for b in bytes(value.asOctets())))
    if isinstance(value, rfc1902.Opaque):
        return SnmpValue("opaque", bytes(value.asOctets()))
    if isinstance(value, rfc1902.OctetString):
        return SnmpValue("octets", bytes(value.asOctets()))
    if isinstance(value, univ.ObjectIdentifier):
        return SnmpValue("oid", oid_text(value))
    return SnmpValue("null")


_NUMERIC = (
    (rfc1902.Counter64, "counter64"),
    (rfc1902.Counter32, "counter32"),
    (rfc1902.TimeTicks, "timeticks"),
    (rfc1902.Gauge32, "gauge"),
    (rfc1902.Unsigned32, "gauge"),
    (rfc1902.Integer32, "integer"),
    (rfc1902.Integer, "integer"),
)


def _indication_error(indication: Any, target: Target, creds: Credentials) -> SnmpError:
    name = type(indication).__name__ if isinstance(indication, ErrorIndication) else ""
    where = f"{target.host}:{target.port}"
    if name == "RequestTimedOut":
        tries = target.retries + 1
        hint = "host down, SNMP off, filtered" + (
            ", or wrong community" if creds.version != "3" else ", or wrong v3 user"
        )
        return SnmpError(
            f"no SNMP answer from {where} ({tries} tries, {target.timeout:g} s each; {hint})",
            no_answer=True,
        )
    return SnmpError(f"SNMP error from {where}: {_safe_error(indication, creds)}")


def _status_text(status: Any, index: Any, oids: list[tuple[int, ...]]) -> str:
    text = status.prettyPrint() if hasattr(status, "prettyPrint") else str(status)
    position = int(index) - 1 if index else -1
    if 0 <= position < len(oids):
        return f"SNMP agent answered {text} for {oid_text(oids[position])}"
    return f"SNMP agent answered {text}"


def _safe_error(exc: Any, creds: Credentials) -> str:
    """An exception's text with every secret of `creds` blanked out."""
    text = str(exc) or type(exc).__name__
    for secret in (creds.community, creds.auth_key, creds.priv_key):
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


# --- v2c fast path: our own BER codec and UDP socket ------------------------------------------
# pyasn1 decoding costs ~0.15 CPU-ms per varbind (a printer walk: ~15 CPU-ms); this codec
# handles only what a v2c GET/GETBULK needs and costs a few µs per varbind. v1 (whose error
# semantics pysnmp translates) and v3 stay on pysnmp.

_STATUS_NAMES = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip
_GET, _GETNEXT, _RESPONSE, _GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
_APP_KINDS = {0x41: "counter32", 0x42: "gauge", 0x43: "timeticks", 0x46: "counter64"}
_EXCEPTIONS = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}


class _BerError(ValueError):
    pass


def _len_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _len_bytes(len(body)) + body


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid_bytes(oid: tuple[int, ...]) -> bytes:
    out = bytearray()
    parts = [oid[0] * 40 + oid[1], *oid[2:]]
    for part in parts:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def encode_request(
    community: bytes, request_id: int, pdu: int, oids: Sequence[tuple[int, ...]], a: int, b: int
) -> bytes:
    """A v2c message; for GETBULK a/b are non-repeaters/max-repetitions, else 0/0."""
    varbinds = b"".join(_tlv(0x30, _oid_bytes(o) + b"\x05\x00") for o in oids)
    body = _int(request_id) + _int(a) + _int(b) + _tlv(0x30, varbinds)
    return _tlv(0x30, _int(1) + _tlv(0x04, community) + _tlv(pdu, body))


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at pos."""
    try:
        tag = data[pos]
        n = data[pos + 1]
        pos += 2
        if n & 0x80:
            k = n & 0x7F
            if not 0 < k <= 4:
                raise _BerError("bad length")
            n = int.from_bytes(data[pos : pos + k], "big")
            pos += k
    except IndexError:
        raise _BerError("truncated") from None
    end = pos + n
    if end > len(data):
        raise _BerError("truncated")
    return tag, pos, end


def _decode_oid(body: bytes) -> tuple[int, ...]:
    out: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            out.append(value)
            value = 0
    if not out:
        raise _BerError("empty OID")
    first = out[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *out[1:])


def _decode_value(tag: int, body: bytes) -> SnmpValue:
    if tag == 0x02:
        return SnmpValue("integer", int.from_bytes(body, "big", signed=True))
    if tag in _APP_KINDS:
        return SnmpValue(_APP_KINDS[tag], int.from_bytes(body, "big"))
    if tag == 0x04:
        return SnmpValue("octets", bytes(body))
    if tag in _EXCEPTIONS:
        return SnmpValue(_EXCEPTIONS[tag])
    if tag == 0x40:
        return SnmpValue("ip", ".".join(str(b) for b in body))
    if tag == 0x44:
        return SnmpValue("opaque", bytes(body))
    if tag == 0x06:
        return SnmpValue("oid", oid_text(_decode_oid(body)))
    return SnmpValue("null")


def decode_response(
    data: bytes,
) -> tuple[int, int, int, list[tuple[tuple[int, ...], SnmpValue]]]:
    """(request id, error status, error index, varbinds) of a v2c response message."""
    tag, pos, end = _read(data, 0)
    if tag != 0x30:
        raise _BerError("not a message")
    tag, s, e = _read(data, pos)  # version
    tag, s, pos = _read(data, e)  # community
    tag, pos, end = _read(data, pos)
    if tag != _RESPONSE:
        raise _BerError("not a response")
    numbers = []
    for _ in range(3):
        tag, s, pos = _read(data, pos)
        if tag != 0x02:
            raise _BerError("bad header")
        numbers.append(int.from_bytes(data[s:pos], "big", signed=True))
    tag, pos, end = _read(data, pos)
    varbinds = []
    while pos < end:
        tag, s, pos = _read(data, pos)
        tag, os_, oe = _read(data, s)
        if tag != 0x06:
            raise _BerError("bad varbind")
        vtag, vs, ve = _read(data, oe)
        varbinds.append((_decode_oid(data[os_:oe]), _decode_value(vtag, data[vs:ve])))
    return numbers[0], numbers[1], numbers[2], varbinds


class _Udp:
    """One non-blocking socket per address family, read with loop.add_reader (closed at once,
    no transport left for the loop to finish); answers go to the waiting request by id."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int) -> None:
        self.loop = loop
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setblocking(False)
            self.sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
            loop.add_reader(self.sock.fileno(), self._readable)
        except BaseException:
            self.sock.close()
            raise
        self.waiting: dict[int, tuple[Any, asyncio.Future[Any]]] = {}

    def sendto(self, packet: bytes, addr: Any) -> None:
        try:
            self.sock.sendto(packet, addr)
        except BlockingIOError:  # send buffer full: lost like a dropped datagram, retried
            pass

    def _readable(self) -> None:
        for _ in range(64):  # bounded: the rest waits for the next wake-up
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable etc.: the request times out like with pysnmp
                continue
            try:
                decoded = decode_response(data)
            except (_BerError, IndexError, ValueError):
                continue
            entry = self.waiting.get(decoded[0])
            if entry is None or (entry[0][0], entry[0][1]) != (addr[0], addr[1]):
                continue
            if not entry[1].done():
                entry[1].set_result(decoded)

    def close(self) -> None:
        for _, future in self.waiting.values():
            if not future.done() and not self.loop.is_closed():
                future.cancel()
        self.waiting.clear()
        if self.sock.fileno() >= 0:
            if not self.loop.is_closed():
                self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
