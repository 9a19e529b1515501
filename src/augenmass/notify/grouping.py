"""Pending outbox rows of one contact and channel → one message.

- A problem still undelivered when its recovery comes is merged with it into one entry
  ("CRITICAL from 10:02 to 10:09, recovered", from its first failed check); the two can never
  go out in the wrong order because everything pending for a contact and channel goes out
  together, oldest first.
- A host DOWN rolls up what sits behind it: its services and the hosts whose only way in is
  through it. Their own problems in the same message (UNREACHABLE hosts, their services, the
  DOWN host's services) are folded into that line: one incident, one line.
- A host's RECOVERY counts the hosts behind it that are reachable again: all of them, unless
  a PROBLEM of one of them is in the same message (that one keeps its own line). Their own
  plain RECOVERY lines in the same message are folded into it (a problem merged with its
  recovery keeps its line: it tells a story of its own).
- An UNREACHABLE host whose DOWN parent is not in the message (it went out before) is marked
  as part of its parents' outage, and so are its services' problems: not a fresh incident.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import replace

from augenmass.core.messages import Entry, Item, Message, data_time
from augenmass.core.plan import Plan

HOST_DOWN = 1  # UNREACHABLE (2) hosts are what a DOWN one rolls up
HOST_UNREACHABLE = 2
MAX_DESCENDANTS = 10_000  # bounds the walk down the parent tree
_STEM = re.compile(r"^(.*?)[-_.]?\d+$")


def message_id(items: list[Item], domain: str) -> str:
    """One Message-ID per content: the same rows give the same id (a resend of what may have
    gone out is dropped as a duplicate by the mail system, rightly), other rows another id (a
    regrouped resend must never hide behind the id of what went out before)."""
    first = items[0]
    ids = ",".join(str(it.id) for it in items).encode()
    digest = hashlib.sha256(ids).hexdigest()[:12]
    return f"<augenmass.{int(first.created * 1000)}.{first.id}.{digest}@{domain}>"


def build_message(items: list[Item], plan: Plan, domain: str) -> Message:
    """`items`: pending rows of ONE contact and channel, in outbox order."""
    ordered = sorted(items, key=lambda it: it.id)
    entries = _roll_up(_merge(ordered), plan)
    return Message(
        contact=ordered[0].contact,
        channel=ordered[0].channel,
        entries=tuple(entries),
        item_ids=tuple(it.id for it in ordered),
        message_id=message_id(ordered, domain),
    )


def _entry(item: Item) -> Entry:
    return Entry(
        type=item.type,
        host=item.host,
        service=item.service,
        state=item.state,
        output=item.output,
        at=item.at,
        number=item.number,
        data=item.data,
    )


def _merge(items: Iterable[Item]) -> list[Entry]:
    entries: list[Entry] = []
    open_problem: dict[tuple[str, str], int] = {}  # check → index of its unsent PROBLEM
    for item in items:
        key = (item.host, item.service)
        index = open_problem.get(key)
        if item.type == "PROBLEM":
            if index is None:
                open_problem[key] = len(entries)
                entries.append(_entry(item))
            else:  # a reminder or a state change: one line, the newest state, the first time
                first = entries[index]
                since = first.data.get("since", first.at)
                entries[index] = replace(_entry(item), data={**item.data, "since": since})
            continue
        if item.type == "RECOVERY" and index is not None:
            problem = entries[index]
            entries[index] = replace(
                _entry(item),
                problem_state=problem.state,
                problem_at=_problem_began(problem),
            )
            del open_problem[key]
            continue
        entries.append(_entry(item))
    return entries


def _problem_began(problem: Entry) -> float:
    # the first failed check where the engine said it (rows written before: the first
    # notification's time)
    began = data_time(problem.data, "began")
    return began if began is not None else float(problem.data.get("since", problem.at))


class Tree:
    """The plan's parent tree, indexed once per message (`Plan.children_of` scans every host)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.children: dict[str, list[str]] = {}
        for host in plan.hosts.values():
            for parent in dict.fromkeys(host.parents):
                self.children.setdefault(parent, []).append(host.name)
        self.services: dict[str, list[str]] = {}
        for svc in plan.services.values():
            self.services.setdefault(svc.host, []).append(svc.name)

    def behind(self, host: str, down: AbstractSet[str] = frozenset()) -> list[str]:
        """Hosts below `host` whose only way in is through it: every parent is `host`, one
        of `down` (also DOWN in this message) or itself behind; breadth first, bounded. A host
        with another way in is not cut off by this one, so it is not said to be unreachable."""

        def given(name: str) -> bool:
            return name == host or name in down

        missing: dict[str, int] = {}  # parents not yet known to be cut off; -1: taken
        found: list[str] = []
        queue = deque([host])
        while queue and len(found) < MAX_DESCENDANTS:
            current = queue.popleft()
            for child in self.children.get(current, ()):
                if child == host or missing.get(child, 0) < 0:
                    continue
                if child not in missing:
                    parents = set(self.plan.hosts[child].parents)
                    missing[child] = sum(1 for p in parents if not given(p))
                if not given(current):
                    missing[child] -= 1
                if missing[child] == 0:
                    missing[child] = -1
                    found.append(child)
                    queue.append(child)
        return found[:MAX_DESCENDANTS]


def _roll_up(entries: list[Entry], plan: Plan) -> list[Entry]:
    hosts = [e for e in entries if not e.service and e.host in plan.hosts]
    if not hosts:
        return entries  # the common case: no tree to index
    tree = Tree(plan)
    down = {e.host: None for e in hosts if e.type == "PROBLEM" and e.state == HOST_DOWN}
    down_set = down.keys()
    behind_of = {host: tuple(tree.behind(host, down_set)) for host in down}
    covered = {h for behind in behind_of.values() for h in behind} - down_set
    host_problems = {e.host for e in hosts if e.type == "PROBLEM"}
    part_of = {
        e.host: plan.hosts[e.host].parents
        for e in hosts
        if e.type == "PROBLEM" and e.state == HOST_UNREACHABLE and e.host not in covered
    }
    recovered = {
        e.host: _recovered(e.host, tree, host_problems)
        for e in hosts
        if e.type == "RECOVERY" and e.host not in host_problems
    }
    back = {h for behind, lost in recovered.values() for h in behind if h not in lost}
    out: list[Entry] = []
    for entry in entries:
        if entry.type == "PROBLEM" and (
            entry.host in covered or (entry.service and entry.host in behind_of)
        ):
            continue  # an UNREACHABLE host, its services, a DOWN host's service: on that line
        if (
            entry.type == "RECOVERY"
            and not entry.service
            and entry.host in back
            and entry.problem_state is None
        ):
            continue  # reachable again: the line of the host in front says so
        if entry.service:
            if entry.type == "PROBLEM" and entry.host in part_of:
                entry = replace(entry, part_of=part_of[entry.host])
        elif entry.host in behind_of and entry.type == "PROBLEM":
            behind = behind_of[entry.host]
            services = tuple(tree.services.get(entry.host, ()))
            entry = replace(entry, affected=services + behind, behind=behind)
        elif entry.host in part_of and entry.type == "PROBLEM":
            entry = replace(entry, part_of=part_of[entry.host])
        elif entry.host in recovered and entry.type == "RECOVERY" and recovered[entry.host][0]:
            behind, lost = recovered[entry.host]
            entry = replace(entry, behind=behind, reachable=len(behind) - len(lost))
        out.append(entry)
    return out


def _recovered(host: str, tree: Tree, host_problems: set[str]) -> tuple[tuple[str, ...], set[str]]:
    """The hosts behind a recovered host, and those of them a PROBLEM in the same message says
    are not reachable (with the hosts behind those). A host DOWN again later in the same
    message is left out by the caller: nothing behind it would be reachable."""
    behind = tuple(tree.behind(host))
    inside = set(behind)
    lost: set[str] = set()
    for name in behind:
        if name in host_problems and name not in lost:
            lost.add(name)
            lost.update(h for h in tree.behind(name) if h in inside)
    return behind, lost


def summarize_names(names: Iterable[str], language: str = "en") -> list[str]:
    """['printer', 'phone1', 'phone2', 'wlan'] → ['printer', '2 phones', 'wlan']."""
    order: list[str] = []
    groups: dict[str, list[str]] = {}
    for name in names:
        match = _STEM.match(name)
        stem = match.group(1) if match and match.group(1) else name
        if stem not in groups:
            order.append(stem)
            groups[stem] = []
        groups[stem].append(name)
    out: list[str] = []
    for stem in order:
        members = groups[stem]
        if len(members) < 2:
            out.extend(members)
        elif language == "de":
            out.append(f"{len(members)}× {stem}")
        else:
            out.append(f"{len(members)} {stem}s")
    return out
