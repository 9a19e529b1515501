"""The few Icinga 2 filter expressions a passive result names its object with.

Icinga evaluates a whole expression language; a result sender only ever writes
`host.name=="web1" && service.name=="disk"` (or `host.name=="web1"`, either quote, or a name
from `filter_vars`). Exactly those forms are read here; anything else is refused with a clear
message instead of being evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from augenmass.core.values import CheckKey

MAX_FILTER = 2000
_TERM = re.compile(
    r"""\s*(host|service)\.name\s*==\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([A-Za-z_]\w*))\s*"""
)
_ESCAPE = re.compile(r"\\(.)")
FORMS = 'host.name=="HOST" or host.name=="HOST" && service.name=="SERVICE"'


class FilterError(ValueError):
    pass


def parse_filter(text: str, kind: str, variables: Mapping[str, object] | None = None) -> CheckKey:
    """The object a filter names; `kind` is "Host" or "Service"."""
    if len(text) > MAX_FILTER:
        raise FilterError(f"filter longer than {MAX_FILTER} characters")
    names: dict[str, str] = {}
    for term in _split_and(text):
        found = _TERM.fullmatch(term)
        if found is None:
            raise FilterError(f"unsupported filter; augenmass reads only {FORMS}")
        attr, double, single, var = found.groups()
        if attr in names:
            raise FilterError(f"{attr}.name given twice in the filter")
        if var is not None:
            value = (variables or {}).get(var)
            if not isinstance(value, str):
                raise FilterError(f"filter variable {var!r} is not a string in filter_vars")
            names[attr] = value
        else:
            names[attr] = _ESCAPE.sub(r"\1", double if double is not None else single)
    if "host" not in names:
        raise FilterError(f"the filter names no host; augenmass reads only {FORMS}")
    if kind == "Service" and "service" not in names:
        raise FilterError('type "Service" needs service.name=="…" in the filter')
    if kind == "Host" and "service" in names:
        raise FilterError('type "Host" takes no service.name; use type "Service"')
    return CheckKey(names["host"], names.get("service"))


def _split_and(text: str) -> list[str]:
    """Split at && outside quotes (a name may contain "&&")."""
    parts, current, quote, i = [], [], "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif text.startswith("&&", i):
            parts.append("".join(current))
            current = []
            i += 1
        else:
            current.append(ch)
        i += 1
    if quote:
        raise FilterError("unterminated string in the filter")
    parts.append("".join(current))
    return parts


def parse_object_param(value: str, kind: str) -> CheckKey:
    """`?service=HOST!SERVICE` or `?host=HOST`, as Icinga's URL parameters name one object."""
    if kind == "Service":
        host, sep, service = value.partition("!")
        if not sep or not host or not service:
            raise FilterError("service= must be HOST!SERVICE")
        return CheckKey(host, service)
    if not value:
        raise FilterError("host= must name a host")
    return CheckKey(value)
