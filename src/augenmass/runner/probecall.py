"""One built-in probe run with its deadline and error mapping: the same code in the server's own
loop and in a probe worker process, so a check's result does not depend on where it ran."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from augenmass.probes import ProbeSet
from augenmass.probes.base import OptionError, ProbeOutcome

UNKNOWN = 3
PROBE_GRACE = 0.5  # a probe gets `timeout` as its budget; the hard stop comes this much later


async def call_probe(
    probes: ProbeSet, kind: str, options: Mapping[str, Any], timeout: float, timeout_state: int
) -> ProbeOutcome:
    """Run probe `kind` (of `probes`, made with their clock) once. Never raises for a check
    problem (a CheckSetupError for an unknown type and unexpected exceptions do escape: the
    caller reports them as internal errors)."""
    probe = probes.get(kind)
    # The hard stop is on the loop's clock: it bounds real waiting, whatever the probe's
    # clock says (a fake clock must not let a hung probe run forever). A probe that ends by
    # its timeout on that clock itself needs none (one timer less per check).
    stop: Any = (
        contextlib.nullcontext()
        if getattr(probe, "ends_by_timeout", False)
        else asyncio.timeout(timeout + PROBE_GRACE)
    )
    try:
        async with stop:
            return await probe.run(options, timeout)
    except TimeoutError:
        return ProbeOutcome(timeout_state, f"timed out after {timeout:g} s")
    except OptionError as exc:
        return ProbeOutcome(UNKNOWN, f"bad check options: {exc}")
