"""Nagios-style `$MACRO$` substitution inside argv elements and probe options.

Substitution is a single pass over the template: a substituted value is never scanned again and
never reaches a shell, so `x; rm -rf /`, `$(id)` or a newline in a value stays one literal argv
element. `$$` is a literal `$`. A `$NAME$` with no value is replaced by "" and reported (like
Icinga 2, which warns about it), so a typo shows up in the check result's notes.

Names available (built by `build_macros`):
  HOSTNAME HOSTADDRESS HOSTDISPLAYNAME SERVICEDESC SERVICEDISPLAYNAME ARG1..ARGn
  _HOST<VAR> / _SERVICE<VAR> for custom vars (upper-cased, as in Nagios), and the bare var name
  `$var$` (service var, else host var).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from augenmass.core.plan import CheckSpec, HostPlan, ServicePlan
from augenmass.core.values import shared_tuple

_MACRO = re.compile(r"\$([A-Za-z0-9_.:-]*)\$")
_WHOLE = re.compile(r"\$([A-Za-z0-9_.:-]+)\$")


def build_macros(host: HostPlan, service: ServicePlan | None, check: CheckSpec) -> dict[str, str]:
    """Every macro value for one check. Built-in names win over custom vars of the same name."""
    macros: dict[str, str] = {}
    for name, value in host.vars.items():
        macros[name] = str(value)
        macros[sys.intern("_HOST" + name.upper())] = str(value)
    if service is not None:
        for name, value in service.vars.items():
            macros[name] = str(value)
            macros[sys.intern("_SERVICE" + name.upper())] = str(value)
    macros["HOSTNAME"] = host.name
    macros["HOSTADDRESS"] = host.address or host.name
    macros["HOSTDISPLAYNAME"] = host.display_name or host.name
    if service is not None:
        macros["SERVICEDESC"] = service.name
        macros["SERVICEDISPLAYNAME"] = service.display_name or service.name
    # ARGn may refer to other macros (as in Nagios); expanded once, here, against the rest.
    base = dict(macros)
    for index, arg in enumerate(_args(check.options.get("args")), start=1):
        macros[f"ARG{index}"] = expand_text(arg, base, [])
    return macros


_HOST_NAMES = frozenset({"HOSTNAME", "HOSTADDRESS", "HOSTDISPLAYNAME"})
_SERVICE_NAMES = frozenset({"SERVICEDESC", "SERVICEDISPLAYNAME"})


def host_macros(host: HostPlan) -> Mapping[str, str]:
    """The host's part of the macros of its checks, built once and shared by all of them
    (`job_macros`): a scheduled check keeps its macros for as long as it is configured, and a
    copy of the host's vars in each was most of what a service held in memory."""
    macros: dict[str, str] = {}
    for name, value in host.vars.items():
        macros[sys.intern(name)] = str(value)
        macros[sys.intern("_HOST" + name.upper())] = str(value)
    macros["HOSTNAME"] = host.name
    macros["HOSTADDRESS"] = host.address or host.name
    macros["HOSTDISPLAYNAME"] = host.display_name or host.name
    return MappingProxyType(macros)


def job_macros(
    host_part: Mapping[str, str], service: ServicePlan | None, check: CheckSpec
) -> Mapping[str, str]:
    """The same macros as `build_macros` (the tests compare them), on top of the shared
    `host_macros`: per check only what the service adds (its name, display name, vars, ARGn)."""
    extra: dict[str, str] = {}
    name = display = None
    if service is not None:
        name, display = service.name, service.display_name or service.name
        for var, value in service.vars.items():
            for key in (var, "_SERVICE" + var.upper()):
                # built-in names win over vars, as in build_macros
                if key not in _HOST_NAMES and key not in _SERVICE_NAMES:
                    extra[sys.intern(key)] = str(value)
    args = _args(check.options.get("args"))
    if args:
        base = Macros(host_part, name, display, dict(extra) or None)  # ARGn: not each other
        for index, arg in enumerate(args, start=1):
            extra[f"ARG{index}"] = expand_text(arg, base, [])
    return Macros(host_part, name, display, extra or None)


_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


class Macros(Mapping[str, str]):
    """A check's macros: its own few values in front of its host's shared ones."""

    # `expanded_for`, `expanded`, `notes`: the check (spec) whose probe options were expanded
    # with these macros, the expansion and its notes, kept here by the runner (the spec is the
    # same object from run to run until a reload, as are these macros):
    # a cache entry per check in the runner cost 150 bytes more.
    __slots__ = ("_base", "_display", "_extra", "_service", "expanded_for", "expanded", "notes")

    def __init__(
        self,
        base: Mapping[str, str],
        service: str | None,
        display: str | None,
        extra: Mapping[str, str] | None,
    ) -> None:
        self._base = base
        self._service = service
        self._display = display
        self._extra = extra
        self.expanded_for: object = None
        self.expanded: Mapping[str, Any] = _NO_OPTIONS
        self.notes: tuple[str, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        if self._extra is not None:
            found = self._extra.get(name)
            if found is not None:
                return found
        if self._service is not None:
            if name == "SERVICEDESC":
                return self._service
            if name == "SERVICEDISPLAYNAME":
                return self._display
        return self._base.get(name, default)

    def __getitem__(self, name: str) -> str:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found  # type: ignore[no-any-return]

    def _keys(self) -> dict[str, None]:
        keys = dict.fromkeys(self._base)
        if self._service is not None:
            keys.update(dict.fromkeys(_SERVICE_NAMES))
        if self._extra is not None:
            keys.update(dict.fromkeys(self._extra))
        return keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        return f"Macros({dict(self)!r})"


class Layered(Mapping[str, Any]):
    """A check's options as the probe gets them: a few values of its own (macros expanded,
    the probe's defaults the spec does not set) in front of the spec's options, which stay the
    plan's shared object. Nearly every http and tcp check's own is just its host's address: a
    full copy of its options for that was 400-800 bytes a check."""

    __slots__ = ("_base", "_keys", "_len", "_values")

    def __init__(self, base: Mapping[str, Any], front: Mapping[str, Any]) -> None:
        self._base = base
        self._keys = shared_tuple(tuple(front))
        self._values = tuple(front.values())
        self._len = len(base) + sum(1 for k in front if k not in base)

    def __getitem__(self, name: str) -> Any:
        if name in self._keys:
            return self._values[self._keys.index(name)]
        return self._base[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        base = self._base
        yield from (k for k in self._keys if k not in base)

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Layered({dict(self)!r})"


LAYERED_MAX = 4  # more values of its own than this: a plain dict is as small


def with_defaults(
    options: Mapping[str, Any],
    defaults: Mapping[str, Any],
    macros: Mapping[str, str],
    unknown: list[str],
) -> Mapping[str, Any]:
    """`options` over the `defaults` they do not set, macros expanded in both: the options
    object itself when nothing changes, else what changed in front of it (Layered)."""
    own: dict[str, Any] = {}
    for key, value in options.items():
        new = _expand_value(value, macros, unknown)
        if new is not value:
            own[key] = new
    for key, value in defaults.items():
        if key not in options:
            own[key] = _expand_value(value, macros, unknown)
    if not own:
        return options
    if len(own) > LAYERED_MAX:
        return {**options, **own}
    return Layered(options, own)


def _args(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Sequence):
        return [str(a) for a in raw]
    return [str(raw)]


def expand_text(text: str, macros: Mapping[str, str], unknown: list[str]) -> str:
    """Substitute macros in one string; names without a value are appended to `unknown`."""
    if "$" not in text:
        return text
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        # "$HOSTADDRESS$", every http and tcp check's default host: the value itself, the
        # host's one string, not a copy per check
        found = macros.get(whole.group(1))
        if found is not None:
            return found

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name:
            return "$"
        found = macros.get(name)
        if found is None:
            unknown.append(name)
            return ""
        return found

    return _MACRO.sub(value, text)


def expand(argv_template: Sequence[str], macros: Mapping[str, str]) -> list[str]:
    """Expand each argv element on its own; unknown macros become ""."""
    return expand_argv(argv_template, macros)[0]


def expand_argv(
    argv_template: Sequence[str], macros: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Like `expand`, also returning the names of unknown macros (for the result's notes)."""
    unknown: list[str] = []
    return [expand_text(str(part), macros, unknown) for part in argv_template], unknown


def expand_options(
    options: Mapping[str, Any], macros: Mapping[str, str], unknown: list[str]
) -> Mapping[str, Any]:
    """Expand macros in every string value of probe options, including inside lists and maps.
    Options without a macro come back as the same object: a check keeps its expanded options
    for as long as it is configured, and a copy of each would double what they cost."""
    expanded = {key: _expand_value(value, macros, unknown) for key, value in options.items()}
    if all(expanded[key] is value for key, value in options.items()):
        return options
    return expanded


def _expand_value(value: Any, macros: Mapping[str, str], unknown: list[str]) -> Any:
    if isinstance(value, str):
        return expand_text(value, macros, unknown)
    if isinstance(value, Mapping):
        return expand_options(value, macros, unknown)
    if isinstance(value, list | tuple):
        items = [_expand_value(v, macros, unknown) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


def unknown_note(unknown: Sequence[str]) -> str:
    names = ", ".join(f"${n}$" for n in dict.fromkeys(unknown))
    return f"unknown macro {names} replaced by an empty string"
