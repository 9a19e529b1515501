"""Sections -> Plan: inheritance, apply rules, notification rules and every cross-reference."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from augenmass.config.agents import build_agents
from augenmass.config.applyrule import matcher
from augenmass.config.cluster import ClusterModel
from augenmass.config.fastvalid import FieldCache
from augenmass.config.inherit import Templates
from augenmass.config.notifications import (
    NotificationsModel,
    build_notifications,
    check_contact_channels,
    contact_fields,
    contact_model,
    notifications_model,
)
from augenmass.config.paths import Where
from augenmass.config.periods import BUILTIN, build_timeperiods
from augenmass.config.pingkey import build_ping_key
from augenmass.config.policy import CheckCache, PolicyCache, build_check, build_policy
from augenmass.config.schema import (
    GroupModel,
    HostModel,
    PolicyModel,
    RetentionModel,
    RuleModel,
    ServiceModel,
    SettingsModel,
    TemplateModel,
)
from augenmass.config.sections import Entry, Sections
from augenmass.config.suggest import unknown
from augenmass.config.validation import validate
from augenmass.core.errors import ConfigProblem
from augenmass.core.fields import check_host_name
from augenmass.core.plan import (
    DEFAULT_HOST_CHECK,
    DEFAULT_ZONE,
    CheckSpec,
    ClusterSettings,
    Contact,
    HostPlan,
    NotificationSettings,
    Plan,
    Policy,
    PublicInfo,
    Retention,
    ServicePlan,
    Settings,
    Source,
    dead_man_check,
)
from augenmass.core.values import CheckKey


@dataclass
class Built:
    plan: Plan
    warnings: list[str] = field(default_factory=list)


def _source(where: Where) -> Source:
    return Source(where.file, where.line)


class Resolver:
    def __init__(self, sections: Sections, problems: list[ConfigProblem]) -> None:
        self.s = sections
        self.problems = problems
        self.warnings: list[str] = []
        self.checks = CheckCache()
        self.policy_cache: PolicyCache = {}
        # equal policies are one object (thousands of services written alike share it)
        self.policies: dict[Policy, Policy] = {}
        self.ping_keys: dict[str, str] = {}  # key -> where it was first set
        # hosts and services repeat their templates' keys: each distinct value validated once
        self.fast_hosts = FieldCache(HostModel)
        self.fast_services = FieldCache(ServiceModel)
        named = sections.named
        self.known = {
            "contact group": set(named["contact_groups"]),
            "contact": set(named["contacts"]),
            "time period": set(named["timeperiods"]) | set(BUILTIN),
        }

    # ---- small helpers -------------------------------------------------------------------
    def _ref(self, kind: str, name: str, where: Where) -> None:
        if name not in self.known[kind]:
            message = unknown(kind, name, self.known[kind])
            if kind == "contact group" and name in self.known["contact"]:
                message += f"; {name!r} is a contact: list it under `contacts:`"
            self.problems.append(where.problem(message))

    def _refs(self, kind: str, names: list[str] | None, where: Where) -> None:
        known = self.known[kind]
        for index, name in enumerate(names or ()):
            if name not in known:  # the place is worked out only for a problem
                self._ref(kind, name, where.at(index))

    def _keyed(self, model: type[Any], section: str) -> Any:
        values = self.s.keyed[section]
        fallback = Where("", {}, (section,))
        validated, problems = validate(model, values, fallback, self.s.keyed_at[section])
        self.problems.extend(problems)
        return validated if validated is not None else model()

    # ---- sections ------------------------------------------------------------------------
    def settings(self) -> Settings:
        model: SettingsModel = self._keyed(SettingsModel, "settings")
        ret: RetentionModel = model.retention
        retention = Retention(**{k: v for k, v in ret.model_dump().items() if v is not None})
        values = {
            k: v
            for k, v in model.model_dump(
                exclude={"retention", "status_page", "default_host_check", "http"}
            ).items()
            if v is not None
        }
        if "plugin_dirs" in values:
            values["plugin_dirs"] = tuple(values["plugin_dirs"])
        if "default_host_check" in model.model_fields_set:
            values["default_host_check"] = self._default_host_check(model.default_host_check)
        else:  # the built-in one: a probe that cannot load is said here, once
            self._default_host_check(dict(DEFAULT_HOST_CHECK))
        page = model.status_page
        return Settings(
            retention=retention,
            status_page_title=page.title,
            status_page_groups=tuple(page.groups),
            status_page_note=page.note,
            http=model.http.to_settings(),
            **values,
        )

    def _default_host_check(self, value: dict[str, Any] | str | bool | None) -> Any:
        """The mapping of settings.default_host_check, or None for off (`none`, false, null);
        a mapping that is no valid check is reported here once, not at every host."""
        if not isinstance(value, dict):
            return None
        where = self.s.keyed_at["settings"].get("default_host_check")
        where = (where or Where("", {}, ("settings",))).at("default_host_check")
        _, problems = build_check(value, where, PolicyModel(), PolicyModel(), self.checks)
        self.problems.extend(problems)
        return None if problems else value

    def policy_refs(self, model: PolicyModel, where_of: dict[str, Where], fallback: Where) -> None:
        def at(key: str) -> Where:
            return where_of.get(key, fallback).at(key)

        # Most references are fine: look them up first, work out a place only for a problem.
        known = self.known
        for kind, key in (("contact group", "notify"), ("contact", "contacts")):
            names = getattr(model, key)
            if names and not known[kind].issuperset(names):
                self._refs(kind, names, at(key))
        for key in ("check_period", "notification_period"):
            value = getattr(model, key)
            if value is not None and value not in known["time period"]:
                self._ref("time period", value, at(key))
        for index, esc in enumerate(model.escalations or ()):
            if not known["contact group"].issuperset(esc.notify):
                self._refs("contact group", esc.notify, at("escalations").at(index, "notify"))

    def cluster(self) -> ClusterSettings:
        model: ClusterModel = self._keyed(ClusterModel, "cluster")
        return model.to_settings()

    def _zones(self, hosts: Mapping[str, HostPlan], cluster: ClusterSettings) -> None:
        """A host's `zone:` names one of `cluster.zones` (or the default zone); a host that an
        agent runs has none (the agent runs its checks, no worker does)."""
        known = (DEFAULT_ZONE, *cluster.zones)
        entries = self.s.named["hosts"]
        for name, host in hosts.items():
            if host.zone is None or name not in entries:
                continue
            where = entries[name].where.at("zone")
            if host.zone not in known:
                self.problems.append(where.problem(unknown("zone", host.zone, known)))
            elif host.agent is not None:
                self.problems.append(
                    where.problem(f"host {name!r} is run by agent {host.agent!r}: it has no zone")
                )

    def notifications(self) -> NotificationSettings:
        model: NotificationsModel = self._keyed(notifications_model(), "notifications")
        return build_notifications(model, self.s.keyed_at["notifications"], self.problems)

    def contacts(self, notifications: NotificationSettings) -> dict[str, Contact]:
        result = {}
        for name, entry in self.s.named["contacts"].items():
            model, problems = validate(contact_model(), entry.body or {}, entry.where)
            self.problems.extend(problems)
            if model is None:
                continue
            if model.notification_period is not None:
                self._ref(
                    "time period", model.notification_period, entry.where.at("notification_period")
                )
            result[name] = Contact(
                name=name,
                language=model.language,
                notification_period=model.notification_period,
                notify_on=frozenset(model.notify_on),
                types=frozenset(model.types),
                **contact_fields(model),
            )
            check_contact_channels(result[name], notifications, entry.where, self.problems)
        return result

    def contact_groups(self) -> dict[str, tuple[str, ...]]:
        result = {}
        for name, entry in self.s.named["contact_groups"].items():
            body = entry.body
            data = {"members": body} if isinstance(body, list | str) or body is None else body
            model, problems = validate(GroupModel, data or {}, entry.where)
            self.problems.extend(problems)
            if model is None:
                continue
            at = entry.where.at("members") if isinstance(body, dict) else entry.where
            self._refs("contact", model.members, at)
            result[name] = tuple(model.members)
        return result

    def templates(self) -> Templates:
        entries = self.s.named["templates"]
        for entry in entries.values():
            _, problems = validate(TemplateModel, entry.body or {}, entry.where)
            self.problems.extend(problems)
        return Templates(entries, self.problems)

    # ---- hosts ---------------------------------------------------------------------------
    def hosts(
        self, templates: Templates, defaults: PolicyModel, settings: Settings
    ) -> dict[str, HostPlan]:
        result = {}
        default_check = settings.default_host_check
        for name, entry in self.s.named["hosts"].items():
            try:
                check_host_name(name)
            except ValueError as exc:
                self.problems.append(entry.where.problem(str(exc)))
                continue
            host = self._host(entry, templates, defaults, default_check)
            if host is not None:
                result[name] = host
        self._parents(result)
        return result

    def _host(
        self,
        entry: Entry,
        templates: Templates,
        defaults: PolicyModel,
        default_check: Mapping[str, Any] | None,
    ) -> HostPlan | None:
        body = {} if entry.body is None else entry.body
        if not isinstance(body, dict):
            self.problems.append(entry.where.problem("expected a mapping of host settings"))
            return None
        merged = templates.merge(Entry(entry.name, body, entry.where))
        model, problems = validate(
            HostModel, merged.data, entry.where, merged.origins, self.fast_hosts
        )
        self.problems.extend(problems)
        if model is None:
            return None
        self.policy_refs(model, merged.origins, entry.where)
        policy, problems = build_policy(model, defaults, True, entry.where, self.policy_cache)
        policy = self.policies.setdefault(policy, policy)
        self.problems.extend(problems)
        check = None
        defaulted = False
        own = model.check
        if isinstance(own, dict):
            where = merged.origins.get("check", entry.where).at("check")
            check, problems = build_check(own, where, model, defaults, self.checks)
            self.problems.extend(problems)
        elif own is None and default_check is not None and _pinged(policy):
            # Reported once in settings(); the timeout etc. may come from the host's policy.
            where = entry.where.at("check")
            check, _ = build_check(dict(default_check), where, model, defaults, self.checks)
            defaulted = check is not None
        own_check = own if isinstance(own, dict) else None
        check = self._dead_man(policy, check, own_check, merged.origins, entry.where)
        if check is None and policy.passive_checks is True:
            # Without a check nothing would ever replace a passive DOWN: it must expire.
            self.problems.append(
                entry.where.at("passive_checks").problem(
                    "a host without a check that takes passive results needs expect_every"
                    " (its state goes to missing_state when results stop)"
                )
            )
        return HostPlan(
            name=entry.name,
            address=model.address,
            display_name=model.display_name,
            parents=tuple(model.parents),
            groups=tuple(model.groups),
            tags=tuple(model.tags),
            vars=dict(model.vars),
            check=check,
            policy=policy,
            source=_source(entry.where),
            default_check=defaulted and not policy.expect_every,
            agent=model.agent,
            zone=model.zone,
        )

    def _parents(self, hosts: dict[str, HostPlan]) -> None:
        defined = self.s.named["hosts"]
        for host in hosts.values():
            for index, parent in enumerate(host.parents):
                if parent not in defined:
                    where = defined[host.name].where.at("parents", index)
                    self.problems.append(where.problem(unknown("host", parent, defined)))
        done: set[str] = set()
        for name in hosts:
            self._parent_walk(name, hosts, [], done)

    def _parent_walk(
        self, name: str, hosts: dict[str, HostPlan], stack: list[str], done: set[str]
    ) -> None:
        if name in stack:
            cycle = " -> ".join(stack[stack.index(name) :] + [name])
            where = self.s.named["hosts"][name].where.at("parents")
            self.problems.append(where.problem(f"parent cycle: {cycle}"))
            return
        if name in done or name not in hosts:
            return
        stack.append(name)
        for parent in hosts[name].parents:
            self._parent_walk(parent, hosts, stack, done)
        stack.pop()
        done.add(name)

    # ---- services ------------------------------------------------------------------------
    def services(
        self, hosts: dict[str, HostPlan], templates: Templates, defaults: PolicyModel
    ) -> dict[CheckKey, ServicePlan]:
        result: dict[CheckKey, ServicePlan] = {}
        shown: dict[tuple[str, str], CheckKey] = {}
        for entry in self.s.listed["services"]:
            for plan in self._service(entry, hosts, templates, defaults):
                key = plan.key
                pub = plan.public
                if pub is not None and key not in result:
                    other = shown.setdefault((pub.group, pub.name.casefold()), key)
                    if other != key:
                        self.problems.append(
                            entry.where.at("public").problem(
                                f"public name {pub.name!r} is also shown for {other}: visitors"
                                " of the status page cannot tell them apart; name each one, or"
                                " put $HOSTDISPLAYNAME$ in the name"
                            )
                        )
                first = result.get(key)
                if first is not None:
                    where = Where(first.source.file, {}, ())
                    self.problems.append(
                        entry.where.problem(
                            f"duplicate service {plan.name!r} on host {plan.host!r} "
                            f"(also defined at {where.file}:{first.source.line})"
                        )
                    )
                    continue
                result[key] = plan
        return result

    def _service(
        self,
        entry: Entry,
        hosts: dict[str, HostPlan],
        templates: Templates,
        defaults: PolicyModel,
    ) -> list[ServicePlan]:
        if not isinstance(entry.body, dict):
            self.problems.append(entry.where.problem("expected a mapping with name, host, check"))
            return []
        merged = templates.merge(entry)
        model, problems = validate(
            ServiceModel, merged.data, entry.where, merged.origins, self.fast_services
        )
        self.problems.extend(problems)
        if model is None:
            return []
        self.policy_refs(model, merged.origins, entry.where)
        policy, problems = build_policy(model, defaults, False, entry.where, self.policy_cache)
        policy = self.policies.setdefault(policy, policy)
        self.problems.extend(problems)
        targets = self._targets(model, entry, hosts)
        check = None
        if model.check is not None:
            where = merged.origins.get("check", entry.where).at("check")
            check, problems = build_check(model.check, where, model, defaults, self.checks)
            self.problems.extend(problems)
            if check is None:
                return []
        check = self._dead_man(policy, check, model.check, merged.origins, entry.where)
        if check is None:
            if merged.data.get("check") is None:  # else its problem is reported already
                self.problems.append(
                    entry.where.problem(
                        "no check: set `check: {type: ...}` here or in a template"
                        " (or `expect_every` for a dead-man check)"
                    )
                )
            return []
        ping_key = ""
        if model.ping_key is not None:
            ping_key = self._ping_key(model.ping_key, policy, targets, entry.where.at("ping_key"))
        # worked out once for all the hosts an apply rule gives it to
        tags, groups, source = tuple(model.tags), tuple(model.groups), _source(entry.where)
        pub, own_vars = model.public, model.vars
        same_public = pub is False or pub is True  # else it may name each host its own way
        public = _public(model, None) if same_public else None
        return [
            ServicePlan(
                host=host,
                name=model.name,
                check=check,
                display_name=model.display_name,
                tags=tags,
                groups=groups,
                vars=dict(own_vars) if own_vars else own_vars,  # none: the plans' shared one
                policy=policy,
                source=source,
                public=public if same_public else _public(model, hosts.get(host)),
                ping_key=ping_key,
            )
            for host in targets
        ]

    def _dead_man(
        self,
        policy: Policy,
        check: CheckSpec | None,
        raw_check: Any,
        origins: dict[str, Where],
        where: Where,
    ) -> CheckSpec | None:
        """A dead-man object's check: none of its own (the server answers its forced check
        with the missing result); the placeholder gives it a scheduler job like any other."""
        if policy.expect_every is None:
            return check
        if raw_check is not None:
            self.problems.append(
                origins.get("check", where)
                .at("check")
                .problem("a dead-man check (expect_every) runs no check of its own; drop `check`")
            )
        return dead_man_check(policy.missing_state)

    def _ping_key(self, raw: str, policy: Policy, targets: list[str], where: Where) -> str:
        if policy.accepts_passive is False:
            self.problems.append(
                where.problem("a ping key needs passive results (passive_checks or expect_every)")
            )
            return ""
        if len(targets) > 1:
            self.problems.append(
                where.problem("a ping key belongs to one check; not with an apply rule")
            )
            return ""
        key = build_ping_key(raw, where, self.problems)
        if key and key in self.ping_keys:
            self.problems.append(where.problem(f"the same ping key as at {self.ping_keys[key]}"))
            return ""
        if key:
            self.ping_keys[key] = str(where)
        return key

    def _targets(self, model: ServiceModel, entry: Entry, hosts: dict[str, HostPlan]) -> list[str]:
        if model.host is not None and model.hosts is not None:
            self.problems.append(entry.where.problem("use either `host:` or `hosts:`, not both"))
            return []
        if model.host is not None:
            if model.host not in self.s.named["hosts"]:
                where = entry.where.at("host")
                self.problems.append(where.problem(unknown("host", model.host, hosts)))
            return [model.host] if model.host in hosts else []
        if model.hosts is None:
            if "host" in entry.body or "hosts" in entry.body:
                return []  # present but invalid: already reported
            self.problems.append(
                entry.where.problem("needs `host: NAME` or an apply rule `hosts: {tag: ...}`")
            )
            return []
        for key, rule in (("hosts", model.hosts), ("ignore", model.ignore)):
            if rule is not None and not rule.model_fields_set:
                self.problems.append(
                    entry.where.at(key).problem("give at least one of tag, group, name, all")
                )
                return []
        chosen = matcher(model.hosts)
        if model.ignore:
            ignored = matcher(model.ignore)
            matched = [h.name for h in hosts.values() if chosen(h) and not ignored(h)]
        else:
            matched = [h.name for h in hosts.values() if chosen(h)]
        if not matched:
            self.warnings.append(
                f"{entry.where}: {entry.where.problem('').path}: apply rule for service "
                f"{model.name!r} matches no host"
            )
        return matched

    # ---- notification rules --------------------------------------------------------------
    def notification_rules(
        self, hosts: dict[str, HostPlan], services: dict[CheckKey, ServicePlan]
    ) -> None:
        for entry in self.s.listed["notification_rules"]:
            model, problems = validate(RuleModel, entry.body, entry.where)
            self.problems.extend(problems)
            if model is None:
                continue
            self._refs("contact group", model.notify, entry.where.at("notify"))
            for key, svc in services.items():
                if _rule_matches(model, svc, hosts[svc.host]):
                    groups = tuple(dict.fromkeys(svc.policy.contact_groups + tuple(model.notify)))
                    policy: Policy = dataclasses.replace(svc.policy, contact_groups=groups)
                    services[key] = dataclasses.replace(svc, policy=policy)

    # ---- all -----------------------------------------------------------------------------
    def plan(self) -> Built:
        settings = self.settings()
        defaults: PolicyModel = self._keyed(PolicyModel, "defaults")
        self.policy_refs(defaults, self.s.keyed_at["defaults"], Where("", {}, ("defaults",)))
        periods = build_timeperiods(self.s.named["timeperiods"], settings.timezone, self.problems)
        notifications = self.notifications()
        contacts = self.contacts(notifications)
        groups = self.contact_groups()
        templates = self.templates()
        hosts = self.hosts(templates, defaults, settings)
        agents = build_agents(
            self.s.named["agents"],
            self.s.named["hosts"],
            hosts,
            # an agent's own host has no check: its results are its heartbeat
            lambda entry: self._host(entry, templates, defaults, None),
            self.problems,
        )
        cluster = self.cluster()
        self._zones(hosts, cluster)
        services = self.services(hosts, templates, defaults)
        self.notification_rules(hosts, services)
        plan = Plan(
            hosts=hosts,
            services=services,
            contacts=contacts,
            contact_groups=groups,
            timeperiods=periods,
            settings=settings,
            notifications=notifications,
            agents=agents,
            cluster=cluster,
        )
        return Built(plan, self.warnings)


def _rule_matches(rule: RuleModel, svc: ServicePlan, host: HostPlan) -> bool:
    m = rule.match
    return (
        (m.check_type is None or svc.check.type == m.check_type)
        and (m.tag is None or m.tag in svc.tags or m.tag in host.tags)
        and (m.host_group is None or m.host_group in host.groups)
        and (m.service is None or fnmatchcase(svc.name, m.service))
    )


def _public(model: ServiceModel, host: HostPlan | None) -> PublicInfo | None:
    pub = model.public
    if pub is False:
        return None
    name = model.display_name or model.name
    if pub is True:
        return PublicInfo(name=name)
    shown = pub.name or name
    if host is not None:
        # one `public.name` applied to many hosts names each site its own way
        shown = shown.replace("$HOSTDISPLAYNAME$", host.display_name or host.name)
        shown = shown.replace("$HOSTNAME$", host.name)
    return PublicInfo(name=shown, group=pub.group, show_output=pub.show_output)


def _pinged(policy: Policy) -> bool:
    """Whether a host without a check of its own gets the default ping: not a dead-man host
    (its results are expected from outside) nor one that only takes passive results."""
    return policy.expect_every is None and policy.active_checks
