"""The base model every check type's options extend.

It lives in `core` (not in `config`) so that probes can declare their options without importing
the config package, which looks the probes up: options flow config -> probes -> core, never back.
Options named `warning`/`critical` or ending in `_warning`/`_critical` are threshold ranges and
are parsed at load time, so a bad range is a config error and never a surprise at first check.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from augenmass.core.fields import State, Timeout, threshold_text


class CheckModel(BaseModel):
    """Keys every check type accepts. `type` is consumed by the registry lookup."""

    model_config = ConfigDict(extra="forbid", strict=True)

    timeout: Timeout | None = Field(
        default=None,
        description="Time limit (seconds, or 30s, 1m ...); not set: the object's `timeout`, "
        "else 10 s.",
    )
    timeout_state: State | None = Field(
        default=None,
        description="State for a timeout; not set: the object's `timeout_state`, else unknown.",
    )
    exit_code_state: State | None = Field(
        default=None,
        description="State when a plugin cannot run or exits outside 0..3; not set: the "
        "object's `exit_code_state`, else unknown.",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _thresholds(cls, value: Any, info: ValidationInfo) -> Any:
        # applies to every subclass, so a new type cannot forget to parse its ranges
        name = info.field_name or ""
        if name.endswith(("warning", "critical")) and value is not None:
            return threshold_text(value)
        return value
