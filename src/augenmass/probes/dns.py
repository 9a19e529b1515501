"""`dns`: ask one DNS server one question (dnspython), like check_dig.

UDP with a TCP retry when the answer is truncated (or TCP only). The server's rcode must be the
expected one (NOERROR unless `rcode` says otherwise: NXDOMAIN can be the healthy answer for a name
that must not exist). `expect` lists answers that must all (or any) be present; addresses are
compared as addresses, names without the trailing dot and case-insensitively. SERVFAIL, an
unexpected NXDOMAIN, no answer in time and a malformed answer are CRITICAL with the reason.

Options: server (default $HOSTADDRESS$), port (53), name (required), record_type (A, AAAA, MX,
TXT, CNAME, NS, SOA, PTR, SRV), expect (text or list), expect_match (all | any), rcode
(NOERROR), transport (udp | tcp), recursion (true), mismatch_state (WARNING, as check_dig: the
state when expected answers are missing), warning / critical (response time, s).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field

from augenmass.core.fields import State, Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, OK, WARNING, NamedProbe, OptionError, ProbeOutcome
from augenmass.probes.netutil import (
    LABELS,
    TimeThresholds,
    budget,
    flag_option,
    host_option,
    port_option,
    redact,
    state_option,
    text_option,
)
from augenmass.probes.safeopen import dns_backend

RECORD_TYPES = ("A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA", "PTR", "SRV")
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
SHOWN_RECORDS = 20  # records named in the long output; the rest are counted


class DnsOptions(CheckModel):
    server: Text = Field(default="$HOSTADDRESS$", description="The DNS server to ask.")
    port: int = Field(default=53, ge=1, le=65535, description="Its port.")
    name: Text = Field(description="The name to look up.")
    record_type: Literal["A", "AAAA", "MX", "TXT", "CNAME", "NS", "SOA", "PTR", "SRV"] = Field(
        default="A", description="The record type asked for."
    )
    expect: list[Text] | None = Field(
        default=None, description="Answers that must be present (addresses, names, texts)."
    )
    expect_match: Literal["all", "any"] = Field(
        default="all", description="all: every expected answer must be present; any: one suffices."
    )
    rcode: Literal["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"] = Field(
        default="NOERROR",
        description=(
            "The response code that is healthy (NXDOMAIN for a name that must not exist)."
        ),
    )
    transport: Literal["udp", "tcp"] = Field(
        default="udp", description="udp (retried over TCP when truncated) or tcp only."
    )
    recursion: bool = Field(default=True, description="Ask for recursion.")
    mismatch_state: State | None = Field(
        default=None, description="State when expected answers are missing (default warning)."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the response time in seconds."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )


class DnsProbe(NamedProbe):
    type = "dns"
    Options = DnsOptions
    defaults: ClassVar[Mapping[str, Any]] = {"server": "$HOSTADDRESS$"}

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        import dns.exception
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype

        server = host_option(options, "server")
        port = port_option(options, 53)
        name = text_option(options, "name")
        if name is None:
            raise OptionError("no name to look up (set `name`)")
        rdtype = _choice(options, "record_type", RECORD_TYPES, "A")
        want_rcode = _choice(options, "rcode", RCODES, "NOERROR")
        transport = _choice(options, "transport", ("UDP", "TCP"), "UDP")
        expects = _expects(options)
        match_all = _choice(options, "expect_match", ("ALL", "ANY"), "ALL") == "ALL"
        mismatch = state_option(options, "mismatch_state", WARNING)
        thresholds = TimeThresholds(options)
        limit = budget(options.get("timeout"), timeout)
        try:
            query = dns.message.make_query(name, rdtype)
        except (dns.exception.DNSException, ValueError) as exc:
            raise OptionError(f"name {name!r} is not a valid DNS name: {exc}") from None
        if not flag_option(options, "recursion", True):
            query.flags &= ~dns.flags.RD
        asked = f"{name} {rdtype} at {server}" + (f" port {port}" if port != 53 else "")
        allow = flag_option(options, "allow_link_local", False)
        started = self.clock.monotonic()
        try:
            async with asyncio.timeout(limit):
                address = await _address(server, port, allow)
                response = await _ask(query, address, port, transport, limit)
        except (TimeoutError, dns.exception.Timeout):
            return _critical(f"no answer within {limit:g} s for {asked}")
        except netpolicy.AddressRefused as exc:
            return _critical(f"DNS server {exc}")
        except socket.gaierror as exc:
            return _critical(f"cannot resolve the server name {server}: {exc.strerror}")
        except ConnectionRefusedError:
            return _critical(f"connection refused by {asked}")
        except OSError as exc:
            return _critical(f"{exc.strerror or exc} asking {asked}")
        except dns.exception.DNSException as exc:
            return _critical(f"malformed answer for {asked}: {type(exc).__name__}")
        elapsed = self.clock.monotonic() - started
        perf = (thresholds.perf(elapsed, limit),)
        got_rcode = dns.rcode.to_text(response.rcode())
        if got_rcode != want_rcode:
            return _critical(f"server answered {got_rcode} for {asked}", perf)
        records = _records(response, dns.rdatatype.from_text(rdtype))
        long_output = _listing(records)
        timing = f"{elapsed:.3f} seconds response time"
        if expects:
            missing, found = _compare(expects, records)
            ok = not missing if match_all else bool(found)
            if not ok:
                wanted = ", ".join(sorted(missing if match_all else expects))
                return ProbeOutcome(
                    mismatch,
                    f"DNS {LABELS[mismatch]} - {asked}: expected {wanted} not in the answer "
                    f"({_summary(records)})",
                    long_output,
                    perf,
                )
        elif want_rcode == "NOERROR" and not records:
            # check_dig says WARNING when the name has no record of the type asked for
            return ProbeOutcome(
                WARNING, f"DNS WARNING - {timing}, no {rdtype} record for {name}", "", perf
            )
        status = thresholds.status(elapsed)
        shown = _summary(records) if records else got_rcode
        return ProbeOutcome(
            status, f"DNS {LABELS[status]} - {timing}, {name} {rdtype}: {shown}", long_output, perf
        )


def _critical(reason: str, perf: tuple[Any, ...] = ()) -> ProbeOutcome:
    return ProbeOutcome(CRITICAL, f"DNS CRITICAL - {reason}", perfdata=perf)


def _choice(options: Mapping[str, Any], name: str, allowed: Sequence[str], default: str) -> str:
    raw = options.get(name)
    if raw is None:
        return default
    value = str(raw).strip().upper()
    if value not in allowed:
        lower = name in ("transport", "expect_match")
        names = ", ".join(a.lower() if lower else a for a in allowed)
        raise OptionError(f"{name} must be one of {names}, not {raw!r}")
    return value


def _expects(options: Mapping[str, Any]) -> list[str]:
    raw = options.get("expect")
    if raw is None or raw == "":
        return []
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise OptionError("expect must be a text or a list of texts")
    return list(items)


async def _address(server: str, port: int, allow: bool) -> str:
    _family, sockaddr = await netpolicy.first_address(server, port, allow, socket.SOCK_DGRAM)
    return str(sockaddr[0])


async def _ask(query: Any, address: str, port: int, transport: str, limit: float) -> Any:
    import dns.asyncquery

    backend = dns_backend()
    if transport == "TCP":
        return await dns.asyncquery.tcp(query, address, timeout=limit, port=port, backend=backend)
    response, _tcp = await dns.asyncquery.udp_with_fallback(
        query, address, timeout=limit, port=port, backend=backend
    )
    return response


def _records(response: Any, rdtype: Any) -> list[str]:
    """The answer records of the type asked for, as normalised text."""
    found: list[str] = []
    for rrset in response.answer:
        if rrset.rdtype == rdtype:
            found.extend(normalise(rdata.to_text()) for rdata in rrset)
    return sorted(found)  # an rrset has no order; a stable output does not look like a change


def normalise(text: str) -> str:
    """One answer as comparable text: addresses canonical, names lower-case without the
    trailing dot, TXT without quotes."""
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if text.startswith('"'):
        return "".join(part.strip('"') for part in text.split('" "'))
    return " ".join(part.rstrip(".").lower() if part != "." else part for part in text.split())


def _compare(expects: list[str], records: list[str]) -> tuple[set[str], set[str]]:
    have = set(records)
    missing = {e for e in expects if normalise(e) not in have}
    return missing, set(expects) - missing


def _summary(records: list[str]) -> str:
    if not records:
        return "no records"
    head = ", ".join(redact(r) for r in records[:3])
    return head if len(records) <= 3 else f"{head} and {len(records) - 3} more"


def _listing(records: list[str]) -> str:
    lines = [redact(r) for r in records[:SHOWN_RECORDS]]
    if len(records) > SHOWN_RECORDS:
        lines.append(f"… {len(records) - SHOWN_RECORDS} more records")
    return "\n".join(lines)


__all__ = ["OK", "DnsOptions", "DnsProbe", "normalise"]
