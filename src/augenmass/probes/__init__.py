"""Registry of built-in probe types: type → "module:Class", imported on first use so a server
that never runs an SNMP check never imports SNMP code."""

from __future__ import annotations

import importlib
from typing import Any

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


def load_probe(kind: str) -> Probe:
    """The probe instance for `kind` (one per type, reused). Raises CheckSetupError."""
    probe = _loaded.get(kind)
    if probe is None:
        probe = _loaded[kind] = probe_class(kind)()
    return probe


__all__ = ["PROBES", "Probe", "ProbeOutcome", "load_probe", "probe_class"]
