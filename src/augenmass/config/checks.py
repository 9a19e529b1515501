"""Check options: the base model every check type extends, and the lookup of a type's model.

A built-in probe declares its options as `Options` (a CheckModel subclass) on its class and is
registered with one line in `augenmass.probes.PROBES`.

Options named `warning`/`critical` or ending in `_warning`/`_critical` are threshold ranges and
are parsed at load time, so a bad range is a config error and never a surprise at first check.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from augenmass.core.fields import Text
from augenmass.core.options import CheckModel


class PluginCheck(CheckModel):
    command: list[Text] = Field(
        min_length=1,
        description=(
            "The program and its arguments (argv, no shell); a name without /"
            " is looked up in settings.plugin_dirs, then $PATH."
        ),
    )
    args: list[Text] = Field(default=[], description="Values of $ARG1$, $ARG2$ ... in command.")

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


def check_model(kind: str) -> type[CheckModel] | str:
    """The options model of a check type, or a message why there is none.

    Built-in probes carry their own model (`Probe.Options`), registered once in
    `augenmass.probes.PROBES`; the probe module is imported only when a config uses it."""
    if kind == "plugin":
        return PluginCheck
    from augenmass.probes import PROBES, probe_class

    if kind not in PROBES:
        return f"unknown check type {kind!r}"
    try:
        cls = probe_class(kind)
    except Exception as exc:  # a probe whose module cannot load is a config problem
        return f"check type {kind!r} is not available: {exc}"
    options = getattr(cls, "Options", None)
    if not (isinstance(options, type) and issubclass(options, CheckModel)):
        return f"check type {kind!r} declares no options model"
    return options


def check_types() -> list[str]:
    from augenmass.probes import PROBES

    return sorted({"plugin", *PROBES})


# Fields CheckSpec holds itself; every other validated option goes into CheckSpec.options.
SPEC_FIELDS = frozenset({"timeout", "timeout_state", "exit_code_state", "command"})
