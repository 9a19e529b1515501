"""`dummy`: returns the state and output it is configured with (examples, tests, placeholders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from augenmass.core.fields import State, Text
from augenmass.core.options import CheckModel
from augenmass.core.perfdata import parse_perfdata
from augenmass.probes.base import OptionError, ProbeBase, ProbeOutcome

_NAMES = {"ok": 0, "up": 0, "warning": 1, "critical": 2, "down": 2, "unknown": 3}


class DummyOptions(CheckModel):
    state: State = Field(default=0, description="The state to return.")
    output: Text = Field(default="", description="The output text.")
    long_output: Text = Field(default="", description="Further lines of output.")
    perfdata: Text = Field(
        default="", description="Performance data in plugin syntax, e.g. 'time=0.1s;1;2'."
    )
    sleep: float = Field(
        default=0.0,
        ge=0.0,
        le=3600.0,
        description="Seconds to wait before answering (to try out timeouts).",
    )


class DummyProbe(ProbeBase):
    type = "dummy"
    Options = DummyOptions
    defaults: ClassVar[Mapping[str, Any]] = {}

    async def run(self, options: Mapping[str, Any], timeout: float) -> ProbeOutcome:
        state = _state(options.get("state", 0))
        sleep = options.get("sleep", 0)  # lets tests and demos exercise the runner's deadline
        if isinstance(sleep, int | float) and not isinstance(sleep, bool) and sleep > 0:
            await self.clock.sleep(sleep)
        perfdata, problems = parse_perfdata(str(options.get("perfdata", "")))
        return ProbeOutcome(
            status=state,
            output=str(options.get("output", "")),
            long_output=str(options.get("long_output", "")),
            perfdata=perfdata,
            notes=tuple(problems),
        )


def _state(raw: Any) -> int:
    if isinstance(raw, bool):
        raise OptionError(f"state must be 0..3 or a state name, not {raw!r}")
    if isinstance(raw, int) and 0 <= raw <= 3:
        return raw
    if isinstance(raw, str):
        if raw.strip().isdigit() and 0 <= int(raw) <= 3:
            return int(raw)
        if raw.strip().lower() in _NAMES:
            return _NAMES[raw.strip().lower()]
    raise OptionError(f"state must be 0..3 or a state name, not {raw!r}")
