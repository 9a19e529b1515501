"""Registry of built-in probe types: type → "module:Class", imported on first use so a server
that never runs an SNMP check never imports SNMP code."""

from __future__ import annotations

import importlib

from augenmass.errors import CheckSetupError
from augenmass.probes.base import Probe, ProbeOutcome

PROBES: dict[str, str] = {
    "dummy": "augenmass.probes.dummy:DummyProbe",
    "tcp": "augenmass.probes.tcp:TcpProbe",
}

_loaded: dict[str, Probe] = {}


def load_probe(kind: str) -> Probe:
    """The probe instance for `kind` (one per type, reused). Raises CheckSetupError."""
    probe = _loaded.get(kind)
    if probe is not None:
        return probe
    target = PROBES.get(kind)
    if target is None:
        known = ", ".join(sorted(PROBES))
        raise CheckSetupError(f"unknown check type {kind!r} (known: plugin, {known})")
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise CheckSetupError(f"check type {kind!r} cannot be loaded: {exc}") from exc
    probe = cls()
    _loaded[kind] = probe
    return probe  # type: ignore[no-any-return]


__all__ = ["PROBES", "Probe", "ProbeOutcome", "load_probe"]
