"""Which hosts an apply rule (`hosts: {tag, group, name, all}`) selects."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from augenmass.config.schema import ApplyModel
from augenmass.core.plan import HostPlan


def matches(rule: ApplyModel, host: HostPlan) -> bool:
    return (
        (rule.tag is None or rule.tag in host.tags)
        and (rule.group is None or rule.group in host.groups)
        and (rule.name is None or fnmatchcase(host.name, rule.name))
        and (rule.all or bool(rule.model_fields_set - {"all"}))
    )


def matcher(rule: ApplyModel) -> Callable[[HostPlan], bool]:
    """`matches` for one rule and many hosts: what does not depend on the host is worked out
    once (a rule is tried on every host of the config)."""
    if not (rule.all or rule.model_fields_set - {"all"}):
        return lambda host: False
    tag, group, name = rule.tag, rule.group, rule.name

    def match(host: HostPlan) -> bool:
        return (
            (tag is None or tag in host.tags)
            and (group is None or group in host.groups)
            and (name is None or fnmatchcase(host.name, name))
        )

    return match
