"""Small pieces the network probes share: option coercion, thresholds on a response time, and
making text taken from a peer safe to store (privacy: no e-mail or SIP addresses, no secrets).

Everything here is cheap to import: the tcp probe's connect-only path runs 10,000 times a minute.
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from augenmass.core.values import PerfDatum
from augenmass.probes.base import OptionError

LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
STATE_NAMES = {"ok": 0, "warning": 1, "warn": 1, "critical": 2, "crit": 2, "unknown": 3}

# An address-like token: local@domain, with or without a sip:/sips:/mailto: scheme in front.
_ADDRESS = re.compile(r"(?:(?:sips?|mailto|tel):)?[^\s<>\"'@,;:()\[\]]+@[^\s<>\"',;:()\[\]]+")
_SIP_URI = re.compile(r"(?:sips?|tel):[^\s<>\"',;]+", re.IGNORECASE)
REDACTED = "<redacted>"
PEER_TEXT_LIMIT = 300  # characters of one peer line kept in an output


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Peer text made safe to store: addresses and given secrets replaced, control bytes gone,
    and cut to PEER_TEXT_LIMIT characters. (Every configured secret is masked once more where
    each result is made: core/secrets.py via CheckResult.)"""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    text = _ADDRESS.sub(REDACTED, text)
    text = _SIP_URI.sub(REDACTED, text)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if len(text) > PEER_TEXT_LIMIT:
        text = text[:PEER_TEXT_LIMIT] + "…"
    return text


def text_option(options: Mapping[str, Any], name: str) -> str | None:
    raw = options.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise OptionError(f"{name} must be text, not {raw!r}")
    return str(raw)


def flag_option(options: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = options.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise OptionError(f"{name} must be true or false, not {raw!r}")


def state_option(options: Mapping[str, Any], name: str, default: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 3:
        return raw
    if isinstance(raw, str) and raw.strip().lower() in STATE_NAMES:
        return STATE_NAMES[raw.strip().lower()]
    raise OptionError(f"{name} must be ok, warning, critical or unknown, not {raw!r}")


def port_option(options: Mapping[str, Any], default: int | None = None) -> int:
    raw: Any = options.get("port")
    if raw is None and default is not None:
        return default
    try:
        port = int(raw)
    except (TypeError, ValueError):
        raise OptionError(f"port must be a number 1..65535, not {raw!r}") from None
    if isinstance(raw, bool) or not 1 <= port <= 65535:
        raise OptionError(f"port must be a number 1..65535, not {raw!r}")
    return port


def host_option(options: Mapping[str, Any], name: str = "host") -> str:
    host = str(options.get(name) or "").strip()
    if not host:
        raise OptionError(f"no {name} (set `{name}` or the host's address)")
    return host


def budget(raw: Any, timeout: float) -> float:
    """The probe's own deadline: the `timeout` option, never more than the check's timeout."""
    if raw is None:
        return timeout
    try:
        return max(0.001, min(float(raw), timeout))
    except (TypeError, ValueError):
        raise OptionError(f"timeout must be a number of seconds, not {raw!r}") from None


class TimeThresholds:
    """warning/critical ranges on a response time in seconds, parsed before any traffic."""

    __slots__ = ("crit", "crit_text", "warn", "warn_text")

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.warn_text = text_option(options, "warning")
        self.crit_text = text_option(options, "critical")
        self.warn: Any = None
        self.crit: Any = None
        if self.warn_text is None and self.crit_text is None:
            return
        from augenmass.core.thresholds import parse_range  # lazy: only checks with thresholds

        try:
            self.warn = None if self.warn_text is None else parse_range(self.warn_text)
            self.crit = None if self.crit_text is None else parse_range(self.crit_text)
        except ValueError as exc:
            raise OptionError(str(exc)) from None

    def status(self, seconds: float) -> int:
        if self.warn is None and self.crit is None:
            return 0
        from augenmass.core.thresholds import evaluate

        return int(evaluate(seconds, self.warn, self.crit))

    def perf(self, seconds: float, limit: float, label: str = "time") -> PerfDatum:
        return PerfDatum(label, round(seconds, 6), "s", self.warn_text, self.crit_text, 0.0, limit)


def tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """A client context that verifies by default; `verify: false` is explicit per check and
    `ca_file` adds a private CA."""
    return _context(flag_option(options, "verify", True), text_option(options, "ca_file"))


@functools.lru_cache(maxsize=32)
def _context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    # Shared and cached: loading the system CA bundle takes milliseconds of blocking work,
    # which a hundred TLS checks at once would otherwise spend on the event loop. A CA file
    # changed on disk is read again after a restart or once it falls out of the cache.
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise OptionError(f"cannot read ca_file: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def tls_error_text(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    return f"TLS handshake failed: {exc}"


def os_error_text(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    return str(exc.strerror or exc)
