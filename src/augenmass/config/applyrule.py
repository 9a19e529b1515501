"""Which hosts an apply rule (`hosts: {tag, group, name, all}`) selects."""

from __future__ import annotations

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
