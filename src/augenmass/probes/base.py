"""What a built-in probe is: an object with a `type` and one coroutine returning a ProbeOutcome.

An unreachable target is data (CRITICAL plus a reason), not an exception. The runner enforces
the hard deadline and turns any exception a probe lets escape into UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    status: int
    output: str
    long_output: str = ""
    perfdata: tuple[Any, ...] = ()  # PerfDatum items
    notes: tuple[str, ...] = ()


class Probe(Protocol):
    type: str
    # option defaults applied before macro expansion, e.g. {"host": "$HOSTADDRESS$"}
    defaults: ClassVar[Mapping[str, Any]]

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        """Run once. `timeout` is the probe's own budget; finish inside it with a real result."""
        ...


class OptionError(ValueError):
    """A probe option is missing or has the wrong type: the runner reports UNKNOWN."""


class NamedProbe:
    """Base for probes whose option errors should name the check type ("tcp: port must be ...").

    Subclasses implement `_run`; `run` adds the type to any OptionError it raises."""

    type: str

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        try:
            return await self._run(options, timeout)
        except OptionError as exc:
            raise OptionError(f"{self.type}: {exc}") from None

    async def _run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        raise NotImplementedError


M = TypeVar("M", bound=BaseModel)


def parse_options(model: type[M], kind: str, options: Mapping[str, Any]) -> M:
    """Validate a probe's options (already checked at config load; this also serves
    `augenmass probe` and agents). Unknown keys and the runner's `timeout` are ignored."""
    clean = {k: v for k, v in options.items() if k in model.model_fields and k != "timeout"}
    try:
        return model.model_validate(clean, strict=False)
    except ValueError as exc:
        raise OptionError(f"{kind}: {exc}") from None


def parse_ranges(kind: str, warn: str | None, crit: str | None) -> tuple[Any, Any]:
    """The warning and critical ranges (None where not set); a bad one is an OptionError."""
    from augenmass.thresholds import parse_range

    try:
        return (
            None if warn is None else parse_range(warn),
            None if crit is None else parse_range(crit),
        )
    except ValueError as exc:
        raise OptionError(f"{kind}: {exc}") from None
