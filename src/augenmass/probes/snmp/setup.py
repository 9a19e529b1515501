"""The set-up every SNMP check type shares: the connection options (`SnmpOptions`), the session
one run talks through (target, credentials and time budget, built from the macro-expanded
options by `open_session`), and `SnmpProbeBase`, which owns the client and the clock.

Secrets (community, v3 keys) never appear in a result: texts name the host and port only, and
`SnmpError` texts are scrubbed by the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.fields import Text
from augenmass.core.options import CheckModel
from augenmass.probes import netpolicy
from augenmass.probes.base import CRITICAL, UNKNOWN, OptionError, ProbeOutcome
from augenmass.probes.snmp.client import (
    AUTH_PROTOCOLS,
    PRIV_PROTOCOLS,
    Credentials,
    SnmpClient,
    SnmpError,
    SnmpValue,
    Target,
)

LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


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
    allow_link_local: bool = Field(
        default=False, description="Allow link-local and cloud metadata addresses."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # YAML gives `version: 3` as a number and `version: 2c` as text
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True, slots=True)
class Session:
    """One run's agent: requests go to `target` with `creds`, all within `budget` seconds."""

    client: SnmpClient
    target: Target
    creds: Credentials
    budget: float

    @property
    def key(self) -> tuple[str, int, str]:
        """Identifies the agent and credential in state keys (a digest, never the secret)."""
        return (self.target.host, self.target.port, self.creds.fingerprint)

    async def get(self, oids: Sequence[str]) -> dict[str, SnmpValue]:
        return await self.client.get(self.target, self.creds, oids)

    async def walk(self, columns: Sequence[str], max_rows: int) -> dict[str, dict[str, SnmpValue]]:
        return await self.client.walk(self.target, self.creds, columns, max_rows)

    def failure(self, kind: str, exc: SnmpError | TimeoutError) -> ProbeOutcome:
        """The result for a request that got no usable answer."""
        if isinstance(exc, TimeoutError):
            where = f"{self.target.host}:{self.target.port}"
            return ProbeOutcome(
                CRITICAL, f"{kind} CRITICAL - no SNMP answer from {where} within {self.budget:g} s"
            )
        return ProbeOutcome(
            CRITICAL if exc.no_answer else UNKNOWN,
            f"{kind} {LABELS[CRITICAL if exc.no_answer else UNKNOWN]} - {exc.text}",
        )


def open_session(client: SnmpClient, options: Mapping[str, Any], timeout: float) -> Session:
    """The session from (macro-expanded) options; OptionError when they are unusable."""
    budget = budget_of(options, timeout)
    target, creds = connection(options, budget)
    return Session(client, target, creds, budget)


class SnmpProbeBase:
    """What the SNMP probe classes share: the host default, the client, the clock."""

    defaults: ClassVar[Mapping[str, Any]] = {"host": "$HOSTADDRESS$"}

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.client = SnmpClient(clock=self.clock)

    def session(self, options: Mapping[str, Any], timeout: float) -> Session:
        return open_session(self.client, options, timeout)


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
    allow = netpolicy.flag(options)
    return Target(host, port, per_try, retries, allow), creds


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


def _int(raw: Any, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number {low}..{high}, not {raw!r}") from None
    if isinstance(raw, bool) or not low <= value <= high:
        raise OptionError(f"{name} must be a number {low}..{high}, not {raw!r}")
    return value
