"""Registry of check types. A new probe type is one model class plus one line in CHECK_TYPES.

Options named `warning`/`critical` or ending in `_warning`/`_critical` are threshold ranges and
are parsed at load time, so a bad range is a config error and never a surprise at first check.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from augenmass.config.fields import Duration, State, Text, Threshold, threshold_text


class CheckModel(BaseModel):
    """Keys every check type accepts. `type` is consumed by the registry lookup."""

    model_config = ConfigDict(extra="forbid", strict=True)

    timeout: Duration | None = None
    timeout_state: State | None = None
    exit_code_state: State | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _thresholds(cls, value: Any, info: ValidationInfo) -> Any:
        # applies to every subclass, so a new type cannot forget to parse its ranges
        name = info.field_name or ""
        if name.endswith(("warning", "critical")) and value is not None:
            return threshold_text(value)
        return value


class PluginCheck(CheckModel):
    command: list[Text] = Field(min_length=1)
    args: list[Text] = []

    @field_validator("command", mode="before")
    @classmethod
    def _argv_only(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "command must be a list of arguments (argv), e.g. [check_disk, -w, '10%'], "
                "not one string: no shell is used, so quoting and pipes would not work"
            )
        return value

    @field_validator("command")
    @classmethod
    def _program_named(cls, value: list[str]) -> list[str]:
        if not value[0].strip():
            raise ValueError("the first element (the program) must not be empty")
        return value


class TcpCheck(CheckModel):
    host: Text = "$HOSTADDRESS$"
    port: int = Field(ge=1, le=65535)
    warning: Threshold | None = None  # response time in seconds
    critical: Threshold | None = None


class DummyCheck(CheckModel):
    state: State = 0
    output: Text = ""


CHECK_TYPES: dict[str, type[CheckModel]] = {
    "plugin": PluginCheck,
    "tcp": TcpCheck,
    "dummy": DummyCheck,
}

# Fields CheckSpec holds itself; every other validated option goes into CheckSpec.options.
SPEC_FIELDS = frozenset({"timeout", "timeout_state", "exit_code_state", "command"})
