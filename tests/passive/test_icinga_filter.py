"""The Icinga filter forms read (and everything else refused, never evaluated)."""

from __future__ import annotations

import pytest

from augenmass.api.icingafilter import FilterError, parse_filter, parse_object_param
from augenmass.core.values import CheckKey


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ('host.name=="web1" && service.name=="disk"', "Service", CheckKey("web1", "disk")),
        ("service.name=='disk'&&host.name=='web1'", "Service", CheckKey("web1", "disk")),
        ('host.name=="a \\"b\\" && c"', "Host", CheckKey('a "b" && c')),
        ("host.name==h && service.name==s", "Service", CheckKey("web1", "disk")),
    ],
)
def test_the_common_forms(text: str, kind: str, key: CheckKey) -> None:
    assert parse_filter(text, kind, {"h": "web1", "s": "disk"}) == key


@pytest.mark.parametrize(
    ("text", "kind", "why"),
    [
        ('match("web*", host.name)', "Host", "unsupported filter"),
        ('host.name=="a" || host.name=="b"', "Host", "unsupported filter"),
        ('host.name=="a" && host.name=="b"', "Host", "given twice"),
        ('host.name=="a"', "Service", "needs service.name"),
        ('host.name=="a" && service.name=="b"', "Host", "takes no service.name"),
        ('host.name=="a', "Host", "unterminated"),
        ("host.name==v", "Host", "not a string in filter_vars"),
        ('service.name=="x"', "Service", "names no host"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: str, kind: str, why: str) -> None:
    with pytest.raises(FilterError, match=why):
        parse_filter(text, kind)


def test_url_parameters() -> None:
    assert parse_object_param("web1!disk space", "Service") == CheckKey("web1", "disk space")
    assert parse_object_param("web1", "Host") == CheckKey("web1")
    with pytest.raises(FilterError):
        parse_object_param("web1", "Service")
