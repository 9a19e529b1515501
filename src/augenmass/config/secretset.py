"""Which configured values are secrets: collected from a loaded Plan (expanded `${ENV}` values
and `password_file` contents included) or, for a config that does not load, from its raw YAML,
so that its error messages can be redacted too (core/secrets.py does the replacing). The rule
itself (which keys hold secrets) is core/secretkeys.py's, shared with the probe workers and
agents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from augenmass.core.plan import HostPlan, Plan, ServicePlan
from augenmass.core.secretkeys import install, is_secret_key, secrets_in, walk

__all__ = ["install", "is_secret_key", "plan_secrets", "raw_secrets"]


def plan_secrets(plan: Plan) -> set[str]:
    """Every secret a loaded plan holds."""
    out: set[str] = set()
    # identical checks share one options mapping (config/policy.py): each is walked once
    seen: set[int] = set()
    objects: list[HostPlan | ServicePlan] = [*plan.hosts.values(), *plan.services.values()]
    for obj in objects:
        check = obj.check
        if check is not None and id(check.options) not in seen:
            seen.add(id(check.options))
            walk(check.options, False, out)
        if obj.vars:
            walk(obj.vars, False, out)
    for service in plan.services.values():
        if service.ping_key:
            out.add(service.ping_key)
    walk(plan.notifications, False, out)
    walk(plan.contacts, False, out)
    walk(plan.settings.default_host_check, False, out)
    out.discard("")
    return out


def raw_secrets(documents: Iterable[Any]) -> set[str]:
    """Every secret in parsed YAML documents (for a config that does not load)."""
    return secrets_in(list(documents))
