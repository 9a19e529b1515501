"""Registry of built-in probe types: type → "module:Class", imported on first use so a server
that never runs an SNMP check never imports SNMP code."""

from __future__ import annotations

import importlib
from typing import Any

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.errors import CheckSetupError
from augenmass.probes.base import Probe, ProbeOutcome

# One line per built-in check type. A module that does not exist yet makes its type a clear
# config error ("not available"), not a crash.
PROBES: dict[str, str] = {
    "dummy": "augenmass.probes.dummy:DummyProbe",
    "tcp": "augenmass.probes.tcp:TcpProbe",
    "http": "augenmass.probes.http:HttpProbe",
    "tls": "augenmass.probes.tls:TlsProbe",
    "icmp": "augenmass.probes.icmp:IcmpProbe",
    "dns": "augenmass.probes.dns:DnsProbe",
    "smtp": "augenmass.probes.mail:SmtpProbe",
    "imap": "augenmass.probes.mail:ImapProbe",
    "pop3": "augenmass.probes.mail:Pop3Probe",
    "sip": "augenmass.probes.sip:SipProbe",
    "snmp": "augenmass.probes.snmp.generic:SnmpProbe",
    "printer": "augenmass.probes.snmp.printer:PrinterProbe",
    "snmp-disk": "augenmass.probes.snmp.disk:SnmpDiskProbe",
    "snmp-interface": "augenmass.probes.snmp.interface:SnmpInterfaceProbe",
    "disk": "augenmass.probes.local:DiskProbe",
    "load": "augenmass.probes.local:LoadProbe",
    "memory": "augenmass.probes.local:MemoryProbe",
    "mailqueue": "augenmass.probes.mailqueue:MailqueueProbe",
}

# The instances made with the system clock, shared by every ProbeSet on one: every SystemClock is
# the same clock, and probes hold sockets and counter memories that want one instance per type.
_loaded: dict[str, Probe] = {}


def probe_class(kind: str) -> type[Any]:
    """The class registered for `kind`; raises CheckSetupError when it cannot be loaded."""
    target = PROBES.get(kind)
    if target is None:
        known = ", ".join(sorted(PROBES))
        raise CheckSetupError(f"unknown check type {kind!r} (known: plugin, {known})")
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise CheckSetupError(f"check type {kind!r} cannot be loaded: {exc}") from exc
    return cls  # type: ignore[no-any-return]


class ProbeSet:
    """The probe instances of one clock: one per type, made on first use with `clock=`."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._loaded: dict[str, Probe] = _loaded if type(self.clock) is SystemClock else {}

    def get(self, kind: str) -> Probe:
        """The probe for `kind`. Raises CheckSetupError."""
        probe = self._loaded.get(kind)
        if probe is None:
            probe = self._loaded[kind] = probe_class(kind)(clock=self.clock)
        return probe


def load_probe(kind: str) -> Probe:
    """The probe instance for `kind` on the system clock (one per type, reused). Raises
    CheckSetupError."""
    return ProbeSet().get(kind)


__all__ = ["PROBES", "Probe", "ProbeOutcome", "ProbeSet", "load_probe", "probe_class"]
