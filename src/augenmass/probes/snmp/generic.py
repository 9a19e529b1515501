"""`snmp`: GET one or more OIDs; thresholds on numbers, exact or regex match on strings, per-second
rates of counters. Also the connection options every SNMP check type shares (`SnmpOptions`).

Secrets (community, v3 keys) never appear in output, long output, notes or errors: texts are
built from the host, port and OIDs only, and `SnmpError` texts are scrubbed.

States follow check_snmp: a threshold breach is WARNING/CRITICAL, an OID the agent does not have
is UNKNOWN (no data to judge), a failed string match is CRITICAL; no answer at all is CRITICAL
(an unreachable target is a result, see CONTRIBUTING).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from augenmass.core.fields import Text, Threshold
from augenmass.core.options import CheckModel
from augenmass.core.thresholds import Range, evaluate, parse_range
from augenmass.core.values import PerfDatum
from augenmass.probes.base import CRITICAL, OK, UNKNOWN, OptionError, ProbeOutcome
from augenmass.probes.snmp.client import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    Credentials,
    SnmpClient,
    SnmpError,
    SnmpValue,
    Target,
    parse_oid,
)
from augenmass.probes.snmp.rate import CounterMemory
from augenmass.probes.snmp.text import decode_text

LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_COUNTERS = ("counter32", "counter64")


class SnmpOptions(CheckModel):
    """Connection options shared by snmp, printer, snmp-disk and snmp-interface."""

    host: Text = Field(default="$HOSTADDRESS$", description="The SNMP agent.")
    port: int = Field(default=161, ge=1, le=65535, description="Its port.")
    version: Literal["1", "2c", "3"] = Field(default="2c", description="SNMP version: 1, 2c or 3.")
    community: Text = Field(
        default="public", description="Community of v1/v2c (a secret: never shown)."
    )
    user: Text = Field(default="", description="v3 user name.")
    auth_protocol: Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"] = Field(
        default="none", description="v3 authentication protocol."
    )
    auth_key: Text = Field(default="", description="v3 authentication key (a secret).")
    priv_protocol: Literal["none", "des", "3des", "aes", "aes128", "aes192", "aes256"] = Field(
        default="none", description="v3 privacy (encryption) protocol."
    )
    priv_key: Text = Field(default="", description="v3 privacy key (a secret).")
    context: Text = Field(default="", description="v3 context name.")
    retries: int = Field(
        default=1, ge=0, le=10, description="Retries after a request got no answer."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # YAML gives `version: 3` as a number and `version: 2c` as text
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SnmpCheckOptions(SnmpOptions):
    oid: str | list[str] = Field(description="Numeric OID, or a list of them, to GET.")
    label: str | list[str] | None = Field(
        default=None, description="Label in output and perfdata (a list: one per OID)."
    )
    warning: Threshold | None = Field(
        default=None, description="Range on the number (or its rate)."
    )
    critical: Threshold | None = Field(default=None, description="Like warning, for CRITICAL.")
    expect: Text | None = Field(default=None, description="A text value must equal this.")
    regex: Text | None = Field(
        default=None, description="A text value must contain a match of this regular expression."
    )
    rate: bool = Field(
        default=False, description="Counters: judge and report the change per second."
    )
    uom: Text = Field(default="", description="Unit of measurement in the perfdata (e.g. B, %, c).")

    @field_validator("oid")
    @classmethod
    def _numeric_oids(cls, value: str | list[str]) -> str | list[str]:
        for oid in [value] if isinstance(value, str) else value:
            parse_oid(oid)
        if isinstance(value, list) and not value:
            raise ValueError("at least one OID")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


def connection(options: Mapping[str, Any], budget: float) -> tuple[Target, Credentials]:
    """Target and credentials from (macro-expanded) options; OptionError when unusable.
    The per-request timeout splits the budget over the tries, so retries end inside it."""
    host = str(options.get("host") or "").strip()
    if not host:
        raise OptionError("no host (set `host` or the host's address)")
    port = _int(options.get("port", 161), "port", 1, 65535)
    retries = _int(options.get("retries", 1), "retries", 0, 10)
    version = str(options.get("version", "2c"))
    if version not in ("1", "2c", "3"):
        raise OptionError(f"version must be 1, 2c or 3, not {version!r}")
    creds = Credentials(
        version=version,
        community=str(options.get("community", "public")),
        user=str(options.get("user", "")),
        auth_protocol=str(options.get("auth_protocol", "none")).lower(),
        auth_key=str(options.get("auth_key", "")),
        priv_protocol=str(options.get("priv_protocol", "none")).lower(),
        priv_key=str(options.get("priv_key", "")),
        context=str(options.get("context", "")),
    )
    _check_v3(creds)
    # 0.9: pysnmp checks its timers every 0.1 s; the last try must end inside the budget
    per_try = max(0.05, 0.9 * budget / (retries + 1))
    return Target(host, port, per_try, retries), creds


def _check_v3(creds: Credentials) -> None:
    if creds.version != "3":
        return
    if not creds.user:
        raise OptionError("SNMPv3 needs `user`")
    if creds.auth_protocol not in AUTH_PROTOCOLS or creds.priv_protocol not in PRIV_PROTOCOLS:
        raise OptionError("unknown auth_protocol or priv_protocol")
    if creds.priv_protocol != "none" and creds.auth_protocol == "none":
        raise OptionError("SNMPv3 privacy (priv_protocol) needs authentication (auth_protocol)")
    # RFC 3414: pass phrases shorter than 8 characters are refused by agents
    if creds.auth_protocol != "none" and len(creds.auth_key) < 8:
        raise OptionError("auth_key must be at least 8 characters")
    if creds.priv_protocol != "none" and len(creds.priv_key) < 8:
        raise OptionError("priv_key must be at least 8 characters")


def budget_of(options: Mapping[str, Any], timeout: float) -> float:
    raw = options.get("timeout")
    if raw is None:
        return timeout
    try:
        return max(0.05, min(float(raw), timeout))
    except (TypeError, ValueError):
        raise OptionError(f"timeout must be a number of seconds, not {raw!r}") from None


def failure(
    kind: str, exc: SnmpError | TimeoutError, target: Target, budget: float
) -> ProbeOutcome:
    """The result for a request that got no usable answer."""
    if isinstance(exc, TimeoutError):
        where = f"{target.host}:{target.port}"
        return ProbeOutcome(
            CRITICAL, f"{kind} CRITICAL - no SNMP answer from {where} within {budget:g} s"
        )
    return ProbeOutcome(
        CRITICAL if exc.no_answer else UNKNOWN,
        f"{kind} {LABELS[CRITICAL if exc.no_answer else UNKNOWN]} - {exc.text}",
    )


def ranges(options: Mapping[str, Any], prefix: str = "") -> tuple[Range | None, Range | None]:
    try:
        warn, crit = options.get(prefix + "warning"), options.get(prefix + "critical")
        return (
            None if warn in (None, "") else parse_range(warn),
            None if crit in (None, "") else parse_range(crit),
        )
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def range_text(rng: Range | None) -> str | None:
    return None if rng is None else str(rng)


def _int(raw: Any, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number {low}..{high}, not {raw!r}") from None
    if isinstance(raw, bool) or not low <= value <= high:
        raise OptionError(f"{name} must be a number {low}..{high}, not {raw!r}")
    return value


def _list(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [str(raw)] if isinstance(raw, str) else [str(x) for x in raw]


class SnmpProbe:
    type = "snmp"
    Options = SnmpCheckOptions
    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    def __init__(self) -> None:
        self.client = SnmpClient()
        self.counters = CounterMemory()

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        budget = budget_of(options, timeout)
        target, creds = connection(options, budget)
        oids = _list(options.get("oid"))
        if not oids:
            raise OptionError("snmp: `oid` is required")
        try:
            for oid in oids:
                parse_oid(oid)
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        labels = _list(options.get("label")) or []
        warn, crit = ranges(options)
        try:
            async with asyncio.timeout(budget):
                values = await self.client.get(target, creds, oids)
        except (SnmpError, TimeoutError) as exc:
            return failure("SNMP", exc, target, budget)
        items = []
        for i, (oid, value) in enumerate(values.items()):
            label = labels[i] if i < len(labels) else oid
            key = (target.host, target.port, creds.fingerprint, oid)
            items.append(self._judge(label, value, options, warn, crit, key))
        status = _worst(s for s, _, _ in items)
        text = ", ".join(t for _, t, _ in items)
        perf = tuple(p for _, _, p in items if p is not None)
        return ProbeOutcome(status, f"SNMP {LABELS[status]} - {text}", perfdata=perf)

    def _judge(
        self,
        label: str,
        value: SnmpValue,
        options: Mapping[str, Any],
        warn: Range | None,
        crit: Range | None,
        key: tuple[Any, ...],
    ) -> tuple[int, str, PerfDatum | None]:
        if value.missing:
            return UNKNOWN, f"{label}: {value.kind} (the agent has no such OID)", None
        uom = str(options.get("uom") or "")
        if isinstance(value.value, int):
            number: float = value.value
            if options.get("rate"):
                if value.kind not in _COUNTERS:
                    return UNKNOWN, f"{label}: rate asked, but the value is {value.kind}", None
                rate = self.counters.rate(key, value.value, value.kind)
                if rate.per_second is None:
                    return OK, f"{label}: counter {value.value}, {rate.note}", None
                number = round(rate.per_second, 3)
            state = evaluate(number, warn, crit) if warn or crit else OK
            mark = "" if state == OK else f" ({LABELS[state]})"
            perf_uom = uom if uom in ("s", "ms", "us", "%", "B", "KB", "MB", "TB", "c") else ""
            per = "/s" if options.get("rate") else ""
            return (
                state,
                f"{label} {_num(number)}{uom}{per}{mark}",
                PerfDatum(label, float(number), perf_uom, range_text(warn), range_text(crit)),
            )
        text = decode_text(value.octets) if isinstance(value.value, bytes) else str(value.value)
        return _match(label, text, options)


def _match(label: str, text: str, options: Mapping[str, Any]) -> tuple[int, str, None]:
    expect, regex = options.get("expect"), options.get("regex")
    shown = f'{label} "{text}"'
    if expect is not None and text != str(expect):
        return CRITICAL, f'{shown} (expected "{expect}")', None
    if regex is not None:
        try:
            found = re.search(str(regex), text)
        except re.error as exc:
            raise OptionError(f"regex: {exc}") from None
        if not found:
            return CRITICAL, f"{shown} (no match for /{regex}/)", None
    return OK, shown, None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def _worst(states: Sequence[int] | Any) -> int:
    found = list(states)
    if not found:
        return UNKNOWN
    if CRITICAL in found:
        return CRITICAL
    return int(max(found))
