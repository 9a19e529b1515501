"""The `agents:` section: which hosts each agent runs, and the agent's own host.

Every agent is a host of its own name (defined under `hosts:` or added here) whose only "check"
is the agent's heartbeat, and the implicit first parent of the hosts it runs: when the agent
goes silent, its host is DOWN and the hosts behind it UNREACHABLE, so people get one
notification about the agent instead of one per check behind it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from augenmass.config.applyrule import matches
from augenmass.config.schema import AgentModel
from augenmass.config.sections import Entry
from augenmass.config.suggest import unknown
from augenmass.config.validation import validate
from augenmass.core.errors import ConfigProblem
from augenmass.core.fields import check_host_name
from augenmass.core.plan import AgentPlan, HostPlan

MakeHost = Callable[[Entry], HostPlan | None]


def build_agents(
    entries: dict[str, Entry],
    host_entries: dict[str, Entry],
    hosts: dict[str, HostPlan],
    make_host: MakeHost,
    problems: list[ConfigProblem],
) -> dict[str, AgentPlan]:
    """The agents; `hosts` is updated in place (agent, parents, the agents' own hosts)."""
    models: dict[str, AgentModel] = {}
    for name, entry in entries.items():
        try:
            check_host_name(name)
        except ValueError as exc:
            problems.append(entry.where.problem(f"an agent is also a host: {exc}"))
            continue
        model, found = validate(AgentModel, entry.body or {}, entry.where)
        problems.extend(found)
        if model is not None:
            models[name] = model
    for name, host in list(hosts.items()):
        if host.agent is not None and host.agent not in entries:
            where = host_entries[name].where.at("agent")
            problems.append(where.problem(unknown("agent", host.agent, entries)))
    _assign_by_rule(models, entries, hosts, problems)
    for name in models:
        _agent_host(name, entries[name], host_entries, hosts, make_host, problems)
    assigned: dict[str, list[str]] = {name: [] for name in models}
    for name, host in list(hosts.items()):
        agent = host.agent
        if agent not in assigned:
            continue
        assigned[agent].append(name)
        if name != agent and agent not in host.parents:
            hosts[name] = dataclasses.replace(host, parents=(agent, *host.parents))
    for name in models:
        own = hosts.get(name)
        behind = set(assigned[name])
        for parent in own.parents if own is not None else ():
            if parent in behind:
                where = entries[name].where
                problems.append(
                    where.problem(
                        f"parent cycle: agent {name!r} has parent {parent!r}, which is behind it"
                    )
                )
    return {
        name: AgentPlan(
            name=name,
            hosts=tuple(sorted(assigned[name])),
            timeout=model.timeout,
            max_age=model.max_age,
        )
        for name, model in models.items()
    }


def _assign_by_rule(
    models: dict[str, AgentModel],
    entries: dict[str, Entry],
    hosts: dict[str, HostPlan],
    problems: list[ConfigProblem],
) -> None:
    """Hosts that name no agent themselves go to the agent whose `hosts:` selects them."""
    for name, host in list(hosts.items()):
        if host.agent is not None or name in entries:
            continue
        chosen = [a for a, m in sorted(models.items()) if m.hosts and matches(m.hosts, host)]
        if len(chosen) > 1:
            where = entries[chosen[1]].where.at("hosts")
            problems.append(
                where.problem(
                    f"host {name!r} is selected by agents {chosen[0]!r} and {chosen[1]!r}:"
                    " set `agent:` on the host"
                )
            )
        elif chosen:
            hosts[name] = dataclasses.replace(host, agent=chosen[0])


def _agent_host(
    name: str,
    entry: Entry,
    host_entries: dict[str, Entry],
    hosts: dict[str, HostPlan],
    make_host: MakeHost,
    problems: list[ConfigProblem],
) -> None:
    own = hosts.get(name)
    if own is None:
        if name in host_entries:
            return  # defined but invalid: reported already
        made = make_host(Entry(name, {}, entry.where))
        if made is not None:
            hosts[name] = dataclasses.replace(made, agent=name)
        return
    where = host_entries[name].where
    if own.default_check:
        own = dataclasses.replace(own, check=None, default_check=False)  # never pinged
    if own.check is not None:
        problems.append(
            where.at("check").problem(
                f"host {name!r} is agent {name!r}: its heartbeat is its host check; remove `check:`"
            )
        )
    if own.agent not in (None, name):
        problems.append(
            where.at("agent").problem(f"host {name!r} is an agent itself: it cannot use another")
        )
    hosts[name] = dataclasses.replace(own, agent=name)
