"""Runs checks: external Nagios plugins and built-in probes. See dispatch.Runner."""

from __future__ import annotations

from augenmass.runner.dispatch import Runner

__all__ = ["Runner"]
