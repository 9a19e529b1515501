"""`tls`: the certificate a server presents, over direct TLS or STARTTLS (smtp, imap, pop3,
postgres).

Judged: days left of the leaf AND of the earliest-expiring certificate the server sent (an
intermediate that dies before the leaf breaks the site just the same; like blackbox_exporter's
probe_ssl_earliest_cert_expiry and check_ssl_cert's default); `warning`/`critical` are ranges on
that number of days (default "20:" / "15:", as check_ssl_cert). Chain validation against the
system CAs or `ca_file`, and the host name, by OpenSSL (`verify: false` skips both); a failure is
CRITICAL with OpenSSL's reason. Weak keys (RSA < 2048 bits, DSA at all, curves under 256 bits)
and weak signatures (MD5, SHA-1) on any certificate but a self-signed root are CRITICAL.

Getting the chain on Python 3.11: `ssl` exposes only the leaf publicly, but the C object behind an
SSLObject has had `get_unverified_chain()` since 3.10 (made public in 3.13); we use the public
method when present, else that one. When verification fails, the handshake fails and gives no
chain, so a second, unverified handshake fetches it for the expiry report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.values import PerfDatum
from augenmass.probes import netpolicy
from augenmass.probes.base import (
    CRITICAL,
    OK,
    OptionError,
    ProbeBase,
    ProbeOutcome,
    parse_options,
    parse_ranges,
)
from augenmass.probes.starttls import INJECTION, pending_plaintext

_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_LINE_LIMIT = 4096
_MAX_LINES = 64
_ENCODING_DER = 2  # _ssl.ENCODING_DER, what the C Certificate.public_bytes takes
_DEFAULT_PORTS = {"smtp": 25, "imap": 143, "pop3": 110, "postgres": 5432}


class TlsOptions(CheckModel):
    host: Text = Field(default="$HOSTADDRESS$", description="host name or IP to connect to")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="default 443, or the STARTTLS protocol's port"
    )
    starttls: Literal["smtp", "imap", "pop3", "postgres"] | None = Field(
        default=None, description="upgrade a plain connection first"
    )
    server_name: Text | None = Field(
        default=None, description="SNI and the name the certificate must match (default: host)"
    )
    verify: bool = Field(default=True, description="validate chain and host name")
    ca_file: Text | None = Field(default=None, description="CA bundle instead of the system CAs")
    chain: bool = Field(
        default=True, description="judge the earliest expiry of the whole chain, not the leaf"
    )
    allow_link_local: bool = Field(
        default=False, description="allow link-local and cloud metadata addresses"
    )
    warning: Threshold | None = Field(default="20:", description="days left, range")
    critical: Threshold | None = Field(default="15:", description="days left, range")


class CertInfo:
    """What we report of one certificate (parsed with `cryptography`)."""

    def __init__(self, der: bytes) -> None:
        from cryptography import x509

        cert = x509.load_der_x509_certificate(der)
        self.subject = cert.subject.rfc4514_string()
        self.issuer = cert.issuer.rfc4514_string()
        self.serial = f"{cert.serial_number:X}"
        self.not_after = cert.not_valid_after_utc.timestamp()
        self.self_signed = cert.subject == cert.issuer
        self.weakness = _weakness(cert)


def _weakness(cert: Any) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import PublicKeyAlgorithmOID

    # Decided from the certificate's algorithm before its key is loaded: cryptography
    # deprecates DSA and warns when a DSA key is loaded; TLS and the CA rules dropped DSA too,
    # so a DSA certificate is weak at any size.
    if cert.public_key_algorithm_oid == PublicKeyAlgorithmOID.DSA:
        return "DSA key"
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        return f"{key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 256:
        return f"weak curve {key.curve.name}"
    if cert.subject == cert.issuer:
        return None  # a root's own signature is not what trust rests on
    algorithm = cert.signature_hash_algorithm
    name = algorithm.name.lower() if algorithm is not None else ""
    if name in ("md5", "sha1", "md2", "md4"):
        return f"{name.upper()} signature"
    return None


class TlsProbe(ProbeBase):
    type = "tls"
    Options = TlsOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        opts = _parse(options)
        host = opts.host.strip().strip("[]")
        if not host:
            raise OptionError("tls: no host (set `host` or the host's address)")
        port = opts.port or _DEFAULT_PORTS.get(opts.starttls or "", 443)
        name = (opts.server_name or "").strip() or host
        ranges = _ranges(opts.warning, opts.critical)
        where = f"{host} port {port}"
        try:
            # network waits are bounded on the loop's clock; the expiry is judged on self.clock
            async with asyncio.timeout(timeout):
                chain, error = await _chain(opts, host, port, name)
        except TimeoutError:
            return _crit(f"timed out after {timeout:g} s on {where}")
        except netpolicy.AddressRefused as exc:
            return _crit(str(exc))
        except socket.gaierror as exc:
            return _crit(f"cannot resolve {host}: {exc.strerror}")
        except StartTlsError as exc:
            return _crit(f"STARTTLS ({opts.starttls}) failed on {where}: {exc}")
        except ssl.SSLError as exc:
            return _crit(f"TLS handshake failed on {where}: {exc.reason or exc}")
        except ConnectionRefusedError:
            return _crit(f"connection refused on {where}")
        except OSError as exc:
            return _crit(f"{exc.strerror or exc} on {where}")
        return _judge(opts, chain, error, ranges, name, self.clock.now())


class StartTlsError(Exception):
    """The plain-text dialogue before the TLS upgrade did not go as the protocol says."""


def _parse(options: Mapping[str, Any]) -> TlsOptions:
    return parse_options(TlsOptions, "tls", options)


def _ranges(warn: str | None, crit: str | None) -> tuple[Any, Any]:
    return parse_ranges("tls", warn, crit)


_CONTEXTS: dict[tuple[bool, str | None], ssl.SSLContext] = {}


def _context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    key = (verify, ca_file)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        try:
            ctx = (
                ssl.create_default_context(cafile=ca_file)
                if verify
                else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            )
        except (OSError, ssl.SSLError) as exc:
            raise OptionError(f"tls: cannot load ca_file {ca_file!r}: {exc}") from None
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            # this context only fetches the chain to report on it, weak certificates included
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        _CONTEXTS[key] = ctx
    return ctx


async def _chain(
    opts: TlsOptions, host: str, port: int, name: str
) -> tuple[list[bytes], str | None]:
    """The DER chain the server sent, and OpenSSL's verification error (None when valid)."""
    if not opts.verify:
        return await _handshake(opts, host, port, name, _context(False, None)), None
    try:
        return await _handshake(opts, host, port, name, _context(True, opts.ca_file)), None
    except ssl.SSLCertVerificationError as exc:
        error = str(exc.verify_message or exc.reason or exc)
    # verification failed, so that handshake gave no chain: fetch it without verifying
    return await _handshake(opts, host, port, name, _context(False, None)), error


async def _handshake(
    opts: TlsOptions, host: str, port: int, name: str, ctx: ssl.SSLContext
) -> list[bytes]:
    loop = asyncio.get_running_loop()
    endpoints = await netpolicy.resolve(host, port, opts.allow_link_local)
    sock, _ = await netpolicy.connect_socket(endpoints, opts.allow_link_local)
    sni = None if netpolicy.parse_ip(name) is not None else name
    if not opts.starttls:
        # Direct TLS: the socket goes straight to the TLS layer, so whatever the server sends
        # first is read as a TLS record (a plain-text server fails the handshake at once; through
        # a plain stream first, uvloop would buffer its bytes and wait until the timeout).
        transport: asyncio.BaseTransport | None = None
        try:
            transport, _ = await loop.create_connection(
                asyncio.Protocol,
                sock=sock,
                ssl=ctx,
                server_hostname=sni or name,
                ssl_handshake_timeout=3600.0,  # our own deadline covers the whole check
            )
            return _der_chain(transport.get_extra_info("ssl_object"))
        finally:
            if transport is not None:
                transport.abort()  # type: ignore[attr-defined]
            sock.close()
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(sock=sock, limit=_LINE_LIMIT * 2)
        await _starttls_dialogue(opts.starttls, reader, writer)
        if pending_plaintext(reader):
            raise StartTlsError(INJECTION)
        await writer.start_tls(ctx, server_hostname=sni or name, ssl_handshake_timeout=3600.0)
        ssl_object = writer.get_extra_info("ssl_object")
        return _der_chain(ssl_object)
    finally:
        if writer is not None:
            writer.transport.abort()
        sock.close()


def _der_chain(ssl_object: Any) -> list[bytes]:
    getter = getattr(ssl_object, "get_unverified_chain", None)  # public from Python 3.13
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        certs = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(_ENCODING_DER) for c in certs]
    leaf = ssl_object.getpeercert(binary_form=True)  # last resort: the leaf alone
    return [leaf] if leaf else []


async def _starttls_dialogue(
    proto: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    if proto == "smtp":
        await _smtp_reply(reader, "220")
        writer.write(b"EHLO augenmass.invalid\r\n")
        features = await _smtp_reply(reader, "250")
        if not any(line[4:].strip().upper().startswith("STARTTLS") for line in features):
            raise StartTlsError("server does not offer STARTTLS")
        writer.write(b"STARTTLS\r\n")
        await _smtp_reply(reader, "220")
    elif proto == "imap":
        await _expect(reader, "* OK")
        writer.write(b"a1 STARTTLS\r\n")
        for _ in range(_MAX_LINES):
            line = await _line(reader)
            if line.startswith("a1 "):
                if not line[3:].upper().startswith("OK"):
                    raise StartTlsError(f"server answered {_short(line)}")
                return
        raise StartTlsError("no tagged answer to STARTTLS")
    elif proto == "pop3":
        await _expect(reader, "+OK")
        writer.write(b"STLS\r\n")
        await _expect(reader, "+OK")
    elif proto == "postgres":
        writer.write((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))  # SSLRequest
        answer = await reader.readexactly(1)
        if answer != b"S":
            raise StartTlsError("server does not accept TLS (answered N)")


async def _line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        raise StartTlsError("connection closed") from None
    except asyncio.LimitOverrunError:
        raise StartTlsError("line too long") from None
    return raw.decode("latin-1").rstrip("\r\n")


async def _expect(reader: asyncio.StreamReader, prefix: str) -> str:
    line = await _line(reader)
    if not line.upper().startswith(prefix):
        raise StartTlsError(f"expected {prefix!r}, got {_short(line)}")
    return line


async def _smtp_reply(reader: asyncio.StreamReader, code: str) -> list[str]:
    lines = []
    for _ in range(_MAX_LINES):
        line = await _line(reader)
        lines.append(line)
        if line[:3] != code:
            raise StartTlsError(f"expected {code}, got {_short(line)}")
        if line[3:4] != "-":
            return lines
    raise StartTlsError("reply too long")


def _short(text: str) -> str:
    return repr(text[:80])


def _crit(message: str) -> ProbeOutcome:
    return ProbeOutcome(CRITICAL, f"TLS CRITICAL - {message}")


def _judge(
    opts: TlsOptions,
    chain: list[bytes],
    error: str | None,
    ranges: tuple[Any, Any],
    name: str,
    now: float,
) -> ProbeOutcome:
    if not chain:
        return _crit("the server presented no certificate")
    from augenmass.core.thresholds import evaluate

    certs = [CertInfo(der) for der in chain]
    leaf = certs[0]
    judged = certs if opts.chain else [leaf]
    earliest = min(judged, key=lambda c: c.not_after)
    leaf_days = (leaf.not_after - now) / 86400
    days = (earliest.not_after - now) / 86400
    warn, crit = ranges
    status = OK if warn is None and crit is None else int(evaluate(days, warn, crit))
    problems = []
    if error:
        status = CRITICAL
        problems.append(f"certificate not valid for {name}: {error}")
    weak = [f"{c.weakness} ({c.subject})" for c in certs if c.weakness]
    if weak:
        status = CRITICAL
        problems.append("weak: " + ", ".join(weak))
    which = "certificate" if earliest is leaf else f"chain ({earliest.subject})"
    summary = f"{which} expires in {days:.1f} days ({_date(earliest.not_after)})"
    if days < 0:
        summary = f"{which} expired {-days:.1f} days ago ({_date(earliest.not_after)})"
    output = f"TLS {_LABELS[status]} - " + " - ".join([*problems, summary])
    return ProbeOutcome(
        status=status,
        output=output,
        long_output=_long_output(certs, now),
        perfdata=(
            PerfDatum("days_chain", round(days, 3), "", opts.warning, opts.critical),
            PerfDatum("days_leaf", round(leaf_days, 3), ""),
        ),
    )


def _date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _long_output(certs: list[CertInfo], now: float) -> str:
    lines = []
    for index, cert in enumerate(certs):
        role = "leaf" if index == 0 else f"chain[{index}]"
        lines.append(
            f"{role}: subject {cert.subject}; issuer {cert.issuer}; serial {cert.serial}; "
            f"expires {_date(cert.not_after)} ({(cert.not_after - now) / 86400:.1f} days)"
        )
    return "\n".join(lines)
